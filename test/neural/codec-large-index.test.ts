// decodeElements shifted element indices as 32-bit ints: from element 2^31 on (a quantized tensor of ~1.2 GB) the block offset wrapped negative, so the load's finiteness check read zeros (or threw a RangeError) and a mutation re-quantized a block it had decoded as zeros.
import { afterAll, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { decodeElements } from "../../src/neural/codec.ts";
import { KernelType } from "../../src/neural/matvec.ts";
import { quantize } from "../../src/gguf/quantize.ts";
import { mapFileReadOnly } from "../../src/sys/mmap.ts";
import { tempDir } from "../harness/artifact.ts";

const dir = tempDir("vb-codec-index-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIRST = 2 ** 31;

test.each([
  ["Q8_0", KernelType.Q8_0, 32, 34],
  ["Q4_0", KernelType.Q4_0, 32, 18],
  ["Q4_K", KernelType.Q4_K, 256, 144],
  ["Q6_K", KernelType.Q6_K, 256, 210],
] as const)("%s elements from index 2^31 on decode from their own block, not a wrapped-negative offset (a sparse file of ~1-2.3 GB, one block written)", (name, type, block, blockBytes) => {
  const values = Float32Array.from({ length: block }, (_, i) => Math.sin(i + 1) * 3);
  const encoded = quantize(type, values);
  expect(encoded.length).toBe(blockBytes);
  const expected = new Float32Array(block);
  decodeElements(type, encoded, 0, expected);
  expect(expected.some((v) => v !== 0)).toBe(true);
  // The block holding element 2^31 at its place in a tensor that starts at byte 0; the rest is a hole.
  const at = (FIRST / block) * blockBytes;
  const path = join(dir, `${name}.bin`);
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, at + blockBytes);
    writeSync(fd, encoded, 0, blockBytes, at);
  } finally {
    closeSync(fd);
  }
  const m = mapFileReadOnly(path);
  try {
    const got = new Float32Array(block);
    decodeElements(type, m.bytes, FIRST, got);
    expect(Array.from(got)).toEqual(Array.from(expected));
  } finally {
    m.unmap();
    rmSync(path);
  }
});
