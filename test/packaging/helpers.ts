// Shared helpers for the packaging tests: temp dirs, fixture paths, a seeded PRNG.
import { mulberry32 } from "../../src/util/prng.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dir, "../..");
export const fixtures = resolve(root, "../shared/fixtures/gguf");
export const fixture = (name: string): string => join(fixtures, name);
export const bun = process.execPath;

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `vb-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const prng = mulberry32;

export function randomBytes(n: number, rnd: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/**
 * Writes a valid GGUF v3 of about `mib` MiB: no metadata, one F32 tensor "synthetic.weights", 32-byte
 * aligned data (0.25 each; `sparse`: zeros as a hole, made in microseconds, read at memory speed).
 */
export function writeSyntheticGguf(path: string, mib: number, opts: { sparse?: boolean } = {}): void {
  const { closeSync, ftruncateSync, openSync, writeSync } = require("node:fs") as typeof import("node:fs");
  const n = (mib * 1048576) / 4 - 64;
  const name = new TextEncoder().encode("synthetic.weights");
  const head = new Uint8Array(4 + 4 + 8 + 8 + 8 + name.length + 4 + 8 + 4 + 8);
  const v = new DataView(head.buffer);
  head.set(new TextEncoder().encode("GGUF"));
  let at = 4;
  const u32 = (x: number) => (v.setUint32(at, x, true), (at += 4));
  const u64 = (x: number) => (v.setBigUint64(at, BigInt(x), true), (at += 8));
  u32(3); // version
  u64(1); // tensor count
  u64(0); // metadata count
  u64(name.length);
  head.set(name, at);
  at += name.length;
  u32(1); // n_dims
  u64(n);
  u32(0); // F32
  u64(0); // offset in the data section
  const dataAt = Math.ceil(at / 32) * 32;
  const fd = openSync(path, "w");
  try {
    writeSync(fd, head, 0, at, 0);
    if (opts.sparse) return ftruncateSync(fd, dataAt + n * 4);
    const chunk = new Uint8Array(new Float32Array(1 << 20).fill(0.25).buffer);
    for (let done = 0; done < n * 4; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, n * 4 - done), dataAt + done);
  } finally {
    closeSync(fd);
  }
}
