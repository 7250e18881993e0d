// A vectorland model written by the build's own generator (scripts/gen-vectorland.ts, run as a process) into a fresh temp directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");

/** Generator arguments for a model whose pixel.1.weight (512x256 F32 = 512 KiB) is split across workers with parallelMinBytes below it. */
export const SPLIT_ACROSS_WORKERS = ["--pixel-hidden", "512,256", "--pixel-outputs", "40"];

/** Makes a temp dir named from `prefix` and generates `file` in it with `args` (the directory removed again and the generator's stderr thrown if it fails). */
export function generatedModel(prefix: string, file: string, args: string[] = []): { dir: string; model: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const model = join(dir, file);
  const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", model, ...args], { stderr: "pipe", timeout: 60_000 });
  if (r.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(r.stderr.toString());
  }
  return { dir, model };
}
