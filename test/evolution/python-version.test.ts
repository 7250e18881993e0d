// The Python client had no __version__ and `vb-evolve --version` was an argparse error (exit 2); the version was written only in pyproject.toml.
import { afterAll, expect, test } from "bun:test";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";
import { pythonPath, removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const run = (argv: string[], env: Record<string, string> = {}) => {
  const r = Bun.spawnSync(argv, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};

test("vb-evolve --version exited 2 (argparse: 'the following arguments are required: cmd') and the package had no __version__: it prints 'vb-evolve VERSION', exit 0, the package's __version__, which is also what the wheel's metadata says", () => {
  const mod = run([python, "-c", "import vector_boot_evolution as v; print(v.__version__)"], { PYTHONPATH: shippedPython });
  expect(mod.err).toBe("");
  const version = mod.out.trim();
  expect(version).toMatch(/^\d+\.\d+\.\d+/);
  const cli = run([python, "-m", "vector_boot_evolution", "--version"], { PYTHONPATH: shippedPython });
  expect({ code: cli.code, out: cli.out, err: cli.err }).toEqual({ code: 0, out: `vb-evolve ${version}\n`, err: "" });

  // One source: the build backend (pip's, python/_build) takes the metadata's version from the
  // package's __version__; changed there, on a copy, the wheel's version follows (tomllib or not).
  const d = tempDir("vb-pyversion-");
  dirs.push(d);
  const src = join(d, "python");
  cpSync(pythonPath, src, { recursive: true, filter: (p) => !p.includes("__pycache__") });
  writeFileSync(join(src, "vector_boot_evolution/version.py"), '"""Test copy."""\n__version__ = "9.8.7"\n');
  const script = `
import os, sys, tempfile
sys.path.insert(0, sys.argv[1])
import wheel_backend as w
for toml in (w.tomllib, None):
    w.tomllib = toml
    out = tempfile.mkdtemp(dir=sys.argv[2])
    name = w.prepare_metadata_for_build_wheel(out)
    version = [l for l in open(os.path.join(out, name, "METADATA")).read().splitlines() if l.startswith("Version:")]
    print(name, version, w.build_wheel(out))
`;
  const meta = run([python, "-B", "-c", script, join(src, "_build"), d]);
  expect(meta.err).toBe("");
  expect(meta.out.trim().split("\n")).toEqual(Array(2).fill("vector_boot_evolution-9.8.7.dist-info ['Version: 9.8.7'] vector_boot_evolution-9.8.7-py3-none-any.whl"));
});
