// The exported matvec hands its arguments to the C kernels by pointer: what the C code would misread or overrun is refused first.
import { expect, test } from "bun:test";
import { VectorBootError } from "../../src/errors.ts";
import { KernelType, matvec, matvecReference, type PreparedMatrix, prepareMatrix } from "../../src/neural/matvec.ts";

const w = Float32Array.from({ length: 2 * 4 }, (_, i) => i + 1);
const m = prepareMatrix(KernelType.F32, 2, 4, new Uint8Array(w.buffer));
const x = new Float32Array([1, 1, 1, 1]);

test("an output that is not a Float32Array (a 2-byte Uint8Array view): the native kernel wrote 4 bytes per row, past the end of the view", () => {
  const buf = new Uint8Array(16).fill(0xaa);
  const y = buf.subarray(0, 2);
  expect(() => matvec(m, x, y as unknown as Float32Array)).toThrow(VectorBootError);
  expect(Array.from(buf.subarray(2))).toEqual(new Array(14).fill(0xaa));
});

test("an input that is not a Float32Array (a Float64Array): the native kernel read its bytes as float32, unlike the reference kernel", () => {
  const x64 = new Float64Array([1, 1, 1, 1]) as unknown as Float32Array;
  expect(() => matvec(m, x64, new Float32Array(2))).toThrow(/Float32Array/);
  expect(() => matvecReference(m, x64, new Float32Array(2))).toThrow(/Float32Array/);
});

test("a PreparedMatrix built by hand with fewer bytes than its rows: the native kernel read past their end", () => {
  const short: PreparedMatrix = { ...m, rows: 4096, cols: 4096 };
  const y = new Float32Array(4096);
  expect(() => matvec(short, new Float32Array(4096), y)).toThrow(/needs 67108864 bytes, has 32/);
});

test("a fractional row range: the native kernel truncated it while the reference wrote a property y[0.5]", () => {
  const y = new Float32Array(2);
  expect(() => matvec(m, x, y, 0.5, 1.5)).toThrow(/row range/);
  expect(() => matvecReference(m, x, y, 0.5, 1.5)).toThrow(/row range/);
  expect(Array.from(y)).toEqual([0, 0]);
});

test("prepareMatrix took negative or fractional shapes whose byte counts happened to match (-1 x -4 over 16 bytes)", () => {
  expect(() => prepareMatrix(KernelType.F32, -1, -4, new Uint8Array(16))).toThrow(/rows and cols/);
  expect(() => prepareMatrix(KernelType.F32, 1.5, 2, new Uint8Array(12))).toThrow(/rows and cols/);
});
