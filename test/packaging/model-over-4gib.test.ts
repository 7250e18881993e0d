// A model of more than 4 GiB (Bun's ArrayBuffer limit) is refused before it is mapped or copied: exit 1 naming the limit, not a RangeError (70).
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, ftruncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { RuntimeInitError, SysError } from "../../src/errors.ts";
import { encodeRtsHeader } from "../../src/rts/format.ts";
import { openModelSource } from "../../src/rts/model-source.ts";
import { mapFileReadOnly } from "../../src/sys/mmap.ts";
import { runShipped } from "../harness/artifact.ts";
import { tempDir } from "./helpers.ts";

/** Bun 1.4.5 makes no ArrayBuffer over external memory larger than this (toArrayBuffer: "RangeError: Out of memory"). */
const FOUR_GIB = 2 ** 32;
const t = tempDir("over-4gib");
afterAll(() => t.cleanup());

/** A sparse GGUF v3 with no tensors and no metadata, `size` bytes long (the rest zero padding): no disk blocks beyond the header. */
function sparseGguf(size: number): string {
  const path = join(t.dir, `sparse-${size}.gguf`);
  const head = new Uint8Array(24);
  head.set([0x47, 0x47, 0x55, 0x46, 3]);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, head);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return path;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

test("a .gguf of 4 GiB + 4 KiB failed with 'RangeError: Out of memory' (exit 70) in inspect, verify and boot --check: it is refused before mapping or copying, exit 1 naming the 4 GiB limit", () => {
  const big = sparseGguf(FOUR_GIB + 4096);
  // In place first (the old code failed here without a copy); then the sealed copy, which must not copy 4 GiB first.
  for (const inPlace of [true, false]) {
    const e = thrown(() => openModelSource({ path: big, inPlace }));
    expect({ inPlace, error: String(e) }).toEqual({ inPlace, error: expect.stringContaining("4 GiB") });
    expect(e).toBeInstanceOf(RuntimeInitError);
  }
  // The mapping layer itself refuses before mmap (it threw the RangeError with the mapping made and never unmapped).
  expect(thrown(() => mapFileReadOnly(big))).toBeInstanceOf(SysError);
  for (const args of [["inspect", big], ["verify", big], ["boot", "--check", "--model", big, "--set", `state_dir=${join(t.dir, "state")}`]]) {
    const r = runShipped(args, { timeoutMs: 60_000 });
    expect({ args, code: r.code }).toEqual({ args, code: 1 });
    expect(r.stderr).toContain("4 GiB");
    expect(r.stderr).not.toContain("RangeError");
  }
}, 120_000);

test("a .gguf of exactly 4 GiB is still mapped and read", () => {
  const src = openModelSource({ path: sparseGguf(FOUR_GIB), inPlace: true });
  try {
    expect(src.bytes.byteLength).toBe(FOUR_GIB);
  } finally {
    src.unmap();
  }
});

test("a seed-layout package whose tensor section of exactly 4 GiB starts off a page boundary (byte 513) failed in mmap (71, naming /proc/self/fd/N): the page before it makes the mapping longer than 4 GiB, refused (1) naming the package and the limit", () => {
  const path = join(t.dir, "unaligned-4gib.rts");
  const fd = openSync(path, "w");
  try {
    writeSync(fd, encodeRtsHeader({ binaryOffset: 512, binarySize: 1, tensorOffset: 513, tensorSize: FOUR_GIB, checksums: null }));
    writeSync(fd, new Uint8Array([0x7f, 0x47, 0x47, 0x55, 0x46, 3]), 0, 6, 512);
    ftruncateSync(fd, 513 + FOUR_GIB);
  } finally {
    closeSync(fd);
  }
  for (const args of [["inspect", path], ["verify", path]]) {
    const r = runShipped(args, { timeoutMs: 60_000 });
    expect({ args, code: r.code }).toEqual({ args, code: 1 });
    expect(r.stderr).toContain(`model in ${path} is ${FOUR_GIB} bytes at byte 513, not page-aligned`);
    expect(r.stderr).not.toContain("/proc/self/fd");
  }
}, 120_000);
