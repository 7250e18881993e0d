// The control CLI took `--socket PATH` but called `--socket=PATH` (GNU/argparse's form) an unknown option, and had no `--version` (vb-evolve has one, from version.py).
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";

afterEach(killLeftovers);

const env = { ...process.env, PYTHONPATH: shippedPython };
const ctl = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.control", ...args], { env, timeoutMs: 30_000 });

test("control --socket=PATH was a usage error (\"unknown option '--socket=...'\", exit 64) and --version one too: --socket=PATH reaches the init at PATH as --socket PATH does, and --version prints the package's version (version.py), exit 0, connecting to nothing", async () => {
  const init = await initForPython();
  const eq = await ctl([`--socket=${init.controlSocket}`, "ping"]);
  expect({ code: eq.code, err: eq.err }).toEqual({ code: 0, err: "" });
  const spaced = await ctl(["--socket", init.controlSocket, "ping"]);
  expect(JSON.parse(eq.out)).toEqual(JSON.parse(spaced.out));
  // Not the environment's socket: --socket= names the one used (a missing one is os_error naming it).
  const missing = `${init.controlSocket}.missing`;
  const gone = await runAsync([python, "-m", "vector_boot_evolution.control", `--socket=${missing}`, "ping"], { env: { ...env, VECTOR_BOOT_CONTROL: init.controlSocket }, timeoutMs: 30_000 });
  expect({ code: gone.code, out: gone.out }).toEqual({ code: 2, out: "" });
  expect(JSON.parse(gone.err)).toEqual({ code: "os_error", message: `[Errno 2] No such file or directory: '${missing}'` });
  // An empty PATH is no PATH (it fell back to $VECTOR_BOOT_CONTROL or the default socket).
  for (const args of [["--socket=", "ping"], ["--socket", "", "ping"]]) {
    const r = await ctl(args);
    expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 64, out: "" });
    expect(JSON.parse(r.err)).toEqual({ code: "usage", message: "--socket needs a PATH (see --help)" });
  }

  const version = (await runAsync([python, "-c", "import vector_boot_evolution as v; print(v.__version__)"], { env, timeoutMs: 30_000 })).out.trim();
  expect(version).toMatch(/^\d+\.\d+\.\d+/);
  const script = join(shippedPython, "vector_boot_evolution/control.py");
  for (const argv of [["-m", "vector_boot_evolution.control", "--version"], ["-m", "vector_boot_evolution.control", "--socket", missing, "--version"], [script, "--version"]]) {
    const r = await runAsync([python, ...argv], { env, timeoutMs: 30_000 });
    expect({ argv, code: r.code, out: r.out, err: r.err }).toEqual({ argv, code: 0, out: `vector_boot_evolution.control ${version}\n`, err: "" });
  }
  const help = await ctl(["--help"]);
  expect(help.out).toContain("--socket=PATH");
  expect(help.out).toContain("--version");
}, 90_000);
