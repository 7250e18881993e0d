// Block quantizers used when a mutation touches Q8_0 / Q4_0 tensors (ggml's reference rounding).
import { ModelError } from "../errors.ts";
import { KernelType } from "./matvec.ts";

const f = Math.fround;
const half = new DataView(new ArrayBuffer(2));
function f16Bits(v: number): number {
  half.setFloat16(0, v, true);
  return half.getUint16(0, true);
}
/** C roundf: halves away from zero. */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));

/** quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d). */
function q8Block(x: Float32Array, xo: number, out: Uint8Array, p: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]!));
  const d = f(amax / 127);
  const id = d ? f(1 / d) : 0;
  const bits = f16Bits(d);
  out[p] = bits & 0xff;
  out[p + 1] = bits >> 8;
  for (let j = 0; j < 32; j++) out[p + 2 + j] = roundf(f(x[xo + j]! * id)) & 0xff;
}

/** quantize_row_q4_0_ref: d = (signed value of largest magnitude) / -8, q = min(15, trunc(x / d + 8.5)). */
function q4Block(x: Float32Array, xo: number, out: Uint8Array, p: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f(max / -8);
  const id = d ? f(1 / d) : 0;
  const bits = f16Bits(d);
  out[p] = bits & 0xff;
  out[p + 1] = bits >> 8;
  for (let j = 0; j < 16; j++) {
    const x0 = f(x[xo + j]! * id);
    const x1 = f(x[xo + 16 + j]! * id);
    const q0 = Math.min(15, Math.trunc(f(x0 + 8.5)));
    const q1 = Math.min(15, Math.trunc(f(x1 + 8.5)));
    out[p + 2 + j] = q0 | (q1 << 4);
  }
}

/** Quantizes `values` (a whole number of 32-element blocks) into `out` (34 or 18 bytes per block). */
export function quantizeBlocks(type: number, values: Float32Array, out: Uint8Array): void {
  const nb = values.length / 32;
  if (!Number.isInteger(nb)) throw new ModelError(`quantizing ${values.length} values: not a whole number of 32-element blocks`);
  if (type === KernelType.Q8_0) {
    if (out.length !== nb * 34) throw new ModelError(`Q8_0 output of ${out.length} bytes for ${nb} blocks`);
    for (let b = 0; b < nb; b++) q8Block(values, b * 32, out, b * 34);
  } else if (type === KernelType.Q4_0) {
    if (out.length !== nb * 18) throw new ModelError(`Q4_0 output of ${out.length} bytes for ${nb} blocks`);
    for (let b = 0; b < nb; b++) q4Block(values, b * 32, out, b * 18);
  } else {
    throw new ModelError(`no block quantizer for ggml type ${type}`);
  }
}
