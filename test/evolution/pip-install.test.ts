// The Python client installs with pip from the repository (standard library only) and its CLI runs.
import { afterAll, expect, test } from "bun:test";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { pythonPath, removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function sh(argv: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
  const t = setTimeout(() => p.kill(9), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(t);
  return { code, out: out + err };
}

test("pip installs ./python into a fresh venv with no package index reachable (no setuptools download); the module imports and vb-evolve --help runs", async () => {
  const d = tempDir("vb-pip-");
  dirs.push(d);
  const venv = join(d, "venv");
  const src = join(d, "src");
  cpSync(pythonPath, src, { recursive: true, filter: (p) => !p.includes("__pycache__") }); // keep the repository clean
  expect((await sh(["python3", "-m", "venv", venv], 60000)).code).toBe(0);
  // --no-index: the build backend (python/_build) must need nothing but the standard library.
  const inst = await sh([join(venv, "bin/pip"), "install", "--no-index", "--quiet", src], 120000);
  expect(inst.out).not.toContain("ERROR");
  expect(inst.code).toBe(0);
  const imp = await sh([join(venv, "bin/python"), "-c", "import vector_boot_evolution as v, sys; print(v.__file__); print(hex(v.crc32c(b'123456789')))"], 30000);
  expect(imp.code).toBe(0);
  expect(imp.out).toContain(join(venv, "lib")); // the installed copy, not the source tree
  expect(imp.out).toContain("0xe3069283");
  const help = await sh([join(venv, "bin/vb-evolve"), "--help"], 30000);
  expect(help.code).toBe(0);
  expect(help.out).toContain("mutate");
  // The installed metadata's version is the package's __version__ (one source: version.py).
  const version = await sh([join(venv, "bin/python"), "-c", "import importlib.metadata as m, vector_boot_evolution as v; print(m.version('vector-boot-evolution'), v.__version__)"], 30000);
  const [installed, own] = version.out.trim().split(" ");
  expect(installed).toBe(own);
  expect((await sh([join(venv, "bin/vb-evolve"), "--version"], 30000)).out).toBe(`vb-evolve ${own}\n`);
}, 240000);
