// A run_dir deeper than a Unix socket address holds (107 bytes): the control socket used to be refused with ENAMETOOLONG, so nothing could reach the instance.
import { afterEach, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { runAsync, runShippedAsync } from "../harness/artifact.ts";
import { longDir } from "../harness/long-path.ts";
import { python } from "../harness/python.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

/** The shipped Python control client run as a script (python3 control.py --socket PATH OP). */
const pyControl = (socket: string, op: string) => runAsync([python, join(shippedPython, "vector_boot_evolution/control.py"), "--socket", socket, op]);

test("a control socket whose path is over 107 bytes binds at that path, and `vector-boot status` and the Python ControlClient reach it (bind refused with ENAMETOOLONG)", async () => {
  const dir = tempDir();
  const runDir = join(longDir(dir, 200), "run");
  const sock = join(runDir, "control");
  expect(Buffer.byteLength(sock)).toBeGreaterThan(200);
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: runDir, state_dir: join(dir, "state"), services: [{ name: "one", argv: ["sleep", "1000"] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  try {
    await waitFor(() => run.log().includes("control socket listening") || run.log().includes("control socket not available"), 30_000, "the control phase");
    expect(run.log()).not.toContain("control socket not available");
    // The socket file is at the real path (not at an alias), with its mode.
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);

    const st = await runShippedAsync(["status", "--json", "--socket", sock]);
    expect(st.err).toBe("");
    expect(st.code).toBe(0);
    expect(JSON.parse(st.out)).toMatchObject({ pid: run.proc.pid, services: { running: 1 } });

    const py = await pyControl(sock, "services");
    expect(py.err).toBe("");
    expect(py.code).toBe(0);
    expect((JSON.parse(py.out) as Array<{ name: string; state: string }>).map((s) => [s.name, s.state])).toEqual([["one", "running"]]);

    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(20_000)).code).toBe(0);
  } catch (e) {
    console.error(run.log().split("\n").slice(-30).join("\n"));
    throw e;
  }
}, 60_000);

test("a socket path that cannot be reached even through its directory is refused naming the path and the 107-byte limit", async () => {
  // The file name alone (100 bytes) does not fit after /proc/self/fd/N/.
  const sock = join(longDir(tempDir(), 150), "c".repeat(100));
  const st = await runShippedAsync(["status", "--socket", sock]);
  expect(st.code).not.toBe(0);
  expect(st.err).toContain(sock);
  expect(st.err).toContain("107-byte limit");
  expect(st.err).toContain("ENAMETOOLONG");

  const py = await pyControl(sock, "status");
  expect(py.code).toBe(2); // the script's exit status for an OSError
  expect(py.err).toContain("107-byte limit");
  expect(py.err).toContain(sock);

  // A directory that does not exist: named, with the limit that made the client go through it.
  const missing = join(longDir(tempDir(), 150), "gone", "control");
  const gone = await runShippedAsync(["status", "--socket", missing]);
  expect(gone.code).not.toBe(0);
  expect(gone.err).toContain("ENOENT");
  expect(gone.err).toContain(missing);
}, 60_000);
