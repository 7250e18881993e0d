// Builds everything into dist/: native shim + static pre-init, the default model, the executable.
import { existsSync, mkdirSync, statSync, readdirSync, copyFileSync, chmodSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { compileFlags } from "./compile-flags.ts";

const root = resolve(import.meta.dir, "..");
const dist = join(root, "dist");
const nativeOut = join(dist, "native");

/** Worker entry points compiled into the executable (Bun needs each listed at build time). */
export const workerEntries: string[] = [
  "src/heartbeat/metabolic-worker.ts",
  "src/neural/matvec-worker.ts",
  "src/heartbeat/beat-sleeper-worker.ts",
].filter((p) => existsSync(join(root, p)));

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : mtime(p));
  }
  return newest;
}

function stale(out: string, inputs: number): boolean {
  return process.env.VB_REBUILD === "1" || mtime(out) < inputs;
}

function run(argv: string[], what: string): void {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    console.error(`build: ${what} failed (exit ${r.exitCode}): ${argv.join(" ")}`);
    process.exit(1);
  }
  console.error(`build: ${what} (${(performance.now() - t0).toFixed(0)} ms)`);
}

mkdirSync(nativeOut, { recursive: true });
// The build's own settings are inputs of everything it builds (a changed flag rebuilds).
const buildScripts = Math.max(mtime(join(root, "scripts/build.ts")), mtime(join(root, "scripts/compile-flags.ts")));
const cflags = ["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-D_GNU_SOURCE"];

// 1. The shim library called through bun:ffi.
// Every native/*.c except the pre-init goes into the one library (each area may add its own file).
const shimSo = join(nativeOut, "libvbshim.so");
const libSources = readdirSync(join(root, "native"))
  .filter((f) => f.endsWith(".c") && f !== "preinit.c")
  .sort()
  .map((f) => `native/${f}`);
// Headers included: a change to native/shim-internal.h rebuilds the library.
const nativeNewest = Math.max(...readdirSync(join(root, "native")).filter((f) => f.endsWith(".c") || f.endsWith(".h")).map((f) => mtime(join(root, "native", f))));
if (stale(shimSo, Math.max(nativeNewest, buildScripts))) {
  run(["gcc", ...cflags, "-shared", "-fPIC", "-o", shimSo, ...libSources, "-lpthread"], `${libSources.join(" ")} -> dist/native/libvbshim.so`);
}

// 2. The static pre-init (/init in the initramfs).
const preinit = join(nativeOut, "preinit");
if (existsSync(join(root, "native/preinit.c")) && stale(preinit, Math.max(mtime(join(root, "native/preinit.c")), mtime(join(root, "native/carried-signals.h")), buildScripts))) {
  run(["gcc", ...cflags, "-static", "-s", "-o", preinit, "native/preinit.c"], "native/preinit.c -> dist/native/preinit");
}

// 3. The default model, generated deterministically.
const model = join(dist, "vectorland.gguf");
const genScript = join(root, "scripts/gen-vectorland.ts");
if (existsSync(genScript) && stale(model, Math.max(mtime(genScript), newestUnder(join(root, "src/gguf")), newestUnder(join(root, "src/neural"))))) {
  run([process.execPath, genScript, "-o", model], "scripts/gen-vectorland.ts -> dist/vectorland.gguf");
}

// 4. The compiled executable (workers included), then the model appended at a page-aligned offset.
const bare = join(dist, "vector-boot.bare");
const exe = join(dist, "vector-boot");
const srcNewest = Math.max(newestUnder(join(root, "src")), mtime(shimSo), mtime(join(root, "package.json")), buildScripts);
if (stale(bare, srcNewest)) {
  // The source maps Bun writes beside the image (it embeds them too): one per chunk, named by hash,
  // so the previous build's would pile up.
  for (const f of readdirSync(dist)) if (f.endsWith(".map")) rmSync(join(dist, f));
  // ESM with splitting: each command and the boot are chunks loaded on first use, so `-- CMD` and
  // the tools do not load the boot's bytecode (README "Choices": start-up).
  run([process.execPath, "build", "--compile", ...compileFlags, "--format=esm", "--splitting", "--bytecode", "--minify-syntax", "--sourcemap=inline", "--root=src", "src/main.ts", ...workerEntries, "--outfile", bare], "bun build --compile -> dist/vector-boot.bare");
}
if (stale(exe, Math.max(mtime(bare), mtime(model)))) {
  const embedPath = join(root, "src/rts/embed.ts");
  if (existsSync(embedPath) && existsSync(model)) {
    const { appendModel } = (await import(embedPath)) as {
      appendModel: (exe: string, gguf: string, out: string) => Promise<{ offset: bigint | number; size: bigint | number }>;
    };
    const tmp = `${exe}.tmp`;
    const r = await appendModel(bare, model, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, exe);
    console.error(`build: model appended to dist/vector-boot at offset ${r.offset} (${r.size} bytes)`);
  } else {
    copyFileSync(bare, `${exe}.tmp`);
    chmodSync(`${exe}.tmp`, 0o755);
    renameSync(`${exe}.tmp`, exe); // rename: a running dist/vector-boot stays intact (ETXTBSY otherwise)
    console.error("build: dist/vector-boot (no embedded model yet)");
  }
}
