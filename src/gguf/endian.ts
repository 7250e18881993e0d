// Byte-order conversion of tensor data from a big-endian GGUF (s390x layout) to little-endian, losslessly.
import { InputError } from "../errors.ts";
import { GgmlType, ggmlTypeInfo } from "./ggml-types.ts";

/** Per type: block size in bytes and the [offset, width] of every multi-byte field in a block. */
const LAYOUTS = new Map<number, Array<[number, number]>>([
  [GgmlType.F32, [[0, 4]]], [GgmlType.F16, [[0, 2]]], [GgmlType.BF16, [[0, 2]]], [GgmlType.F64, [[0, 8]]],
  [GgmlType.I8, []], [GgmlType.I16, [[0, 2]]], [GgmlType.I32, [[0, 4]]], [GgmlType.I64, [[0, 8]]],
  [GgmlType.Q8_0, [[0, 2]]], [GgmlType.Q4_0, [[0, 2]]], [GgmlType.Q4_1, [[0, 2], [2, 2]]],
  [GgmlType.Q4_K, [[0, 2], [2, 2]]], [GgmlType.Q6_K, [[208, 2]]],
]);

/** ggml type ids whose data `swapTensorBytes` can convert. */
export const SWAPPABLE_TYPES: readonly number[] = [...LAYOUTS.keys()];

/**
 * A copy of `data` (tensor bytes of ggml type `type`) with every multi-byte field byte-swapped:
 * converts a big-endian file's tensor to little-endian (or back). Quantized blocks swap their
 * f16 scales, as llama.cpp's gguf_convert_endian does.
 */
export function swapTensorBytes(type: number, data: Uint8Array): Uint8Array {
  const info = ggmlTypeInfo(type);
  const fields = LAYOUTS.get(type);
  if (!info || !fields) throw new InputError(`swapTensorBytes: ggml type ${info?.name ?? type} is not supported`);
  if (data.byteLength % info.typeSize !== 0) {
    throw new InputError(`swapTensorBytes: ${data.byteLength} bytes is not a whole number of ${info.name} blocks`);
  }
  const out = data.slice();
  for (let b = 0; b < out.length; b += info.typeSize) {
    for (const [off, width] of fields) out.subarray(b + off, b + off + width).reverse();
  }
  return out;
}
