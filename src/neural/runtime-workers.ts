// Starts the mat-vec worker pool for a loaded model's large weights, when workers can reach them without a copy.
import { logger } from "../log.ts";
import { type MatrixSource, MatvecPool } from "./matvec-pool.ts";
import type { LoadedModel } from "./model.ts";
import type { MappedModel } from "./runtime-types.ts";

const log = logger("neural");

/**
 * A pool with `workers` threads for every layer weight of at least `minBytes`, attached to the
 * model's weight store; null when no weight qualifies or the bytes are neither a mapped file
 * (path + offset known) nor a SharedArrayBuffer. Never throws: without workers the runtime computes
 * on one thread.
 */
export async function startPool(model: LoadedModel, src: Uint8Array | MappedModel, workers: number, minBytes: number): Promise<MatvecPool | null> {
  const bytes = src instanceof Uint8Array ? src : src.bytes;
  const file =
    src instanceof Uint8Array ? null
    : src.mapPath !== undefined && src.mapOffset !== undefined ? { path: src.mapPath, offset: src.mapOffset }
    : src.path === undefined || src.offset === undefined ? null
    : { path: src.path, offset: src.offset };
  const shared = typeof SharedArrayBuffer !== "undefined" && bytes.buffer instanceof SharedArrayBuffer;
  if (!file && !shared) return null;
  const { weights, spec } = model;
  const wanted: { name: string; source: MatrixSource }[] = [];
  try {
    const page = file ? (await import("../sys/mmap.ts")).pageSize() : 1;
    for (const l of [...spec.pixel.layers, ...spec.cortex.layers]) {
      const data = weights.baseBytes(l.weight);
      if (data.byteLength < minBytes || weights.describe(l.weight).mutated) continue;
      if (file) {
        const at = file.offset + (data.byteOffset - bytes.byteOffset);
        const mapOffset = at - (at % page);
        wanted.push({ name: l.weight, source: { kind: "file", path: file.path, mapOffset, mapLength: at - mapOffset + data.byteLength, byteOffset: at - mapOffset, byteLength: data.byteLength } });
      } else {
        wanted.push({ name: l.weight, source: { kind: "shared", buffer: bytes.buffer as SharedArrayBuffer, byteOffset: data.byteOffset, byteLength: data.byteLength } });
      }
    }
    if (wanted.length === 0) return null;
    const maxCols = Math.max(...wanted.map((w) => weights.matrix(w.name).cols));
    const maxRows = Math.max(...wanted.map((w) => weights.matrix(w.name).rows));
    const pool = await MatvecPool.start(workers, maxCols, maxRows);
    try {
      await Promise.all(wanted.map((w, i) => pool.register(i, weights.matrix(w.name), w.source)));
      // A weight mutated while the workers started: they registered its old bytes, so it stays on the caller's thread.
      const ids = new Map<string, number>();
      wanted.forEach((w, i) => {
        if (weights.describe(w.name).mutated) pool.invalidate(i);
        else ids.set(w.name, i);
      });
      if (ids.size === 0) {
        pool.close();
        return null;
      }
      weights.attachPool(pool, ids);
      log.info("mat-vec workers started", { workers, matrices: ids.size });
      return pool;
    } catch (err) {
      // The model unloaded while the workers started (cleanup(), a later init): the pool was left
      // running, nobody to close it, and the process could never exit (each reload added threads).
      pool.close();
      throw err;
    }
  } catch (err) {
    log.warn("mat-vec workers unavailable; computing on one thread", { error: String(err) });
    return null;
  }
}
