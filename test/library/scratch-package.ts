// A scratch copy of the vector-boot package (package.json, its "files", the built shim) and a scratch project depending on it by path.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dir, "../..");
export const shim = join(root, "dist/native/libvbshim.so");

export function run(argv: string[], cwd: string, timeout: number): { code: number | null; out: string; err: string } {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", timeout, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/**
 * The package as a consumer gets it under `dir/vector-boot`: package.json, its "files" entries, and
 * the built shim unless `withShim` is false (the whole working tree would also carry .git, .cache
 * and dist: over a gigabyte).
 */
export function copyPackage(dir: string, withShim = true): string {
  const pkg = join(dir, "vector-boot");
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { files: string[] };
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, "package.json"), join(pkg, "package.json"));
  for (const f of manifest.files) if (f !== "dist/native/libvbshim.so" && existsSync(join(root, f))) cpSync(join(root, f), join(pkg, f), { recursive: true });
  if (withShim) {
    mkdirSync(join(pkg, "dist/native"), { recursive: true });
    cpSync(shim, join(pkg, "dist/native/libvbshim.so"));
  }
  return pkg;
}

/** `dir/app`: a project depending on `file:../vector-boot` (plus `devDependencies`), installed with `bun install` (offline first). */
export function scratchProject(dir: string, files: Record<string, string>, devDependencies: Record<string, string> = {}): { app: string; installErr: string; installed: boolean } {
  const app = join(dir, "app");
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module", dependencies: { "vector-boot": "file:../vector-boot" }, devDependencies }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(app, name), text);
  let install = run([process.execPath, "install", "--offline"], app, 120_000);
  if (install.code !== 0) install = run([process.execPath, "install"], app, 120_000);
  return { app, installErr: install.err, installed: install.code === 0 && existsSync(join(app, "node_modules/vector-boot/src/index.ts")) };
}
