// Block quantizer for mutations of Q8_0 / Q4_0 tensors: the gguf module's ggml-reference quantizers.
import { ModelError } from "../errors.ts";
import { quantizeRow } from "../gguf/index.ts";
import { KernelType } from "./matvec.ts";

/** Quantizes `values` (a whole number of 32-element blocks) into `out` (34 or 18 bytes per block). */
export function quantizeBlocks(type: number, values: Float32Array, out: Uint8Array): void {
  if (type !== KernelType.Q8_0 && type !== KernelType.Q4_0) throw new ModelError(`no block quantizer for ggml type ${type}`);
  const blockBytes = type === KernelType.Q8_0 ? 34 : 18;
  if (values.length % 32 !== 0 || out.length !== (values.length / 32) * blockBytes) {
    throw new ModelError(`quantizing ${values.length} values into ${out.length} bytes: not whole ${type === KernelType.Q8_0 ? "Q8_0" : "Q4_0"} blocks`);
  }
  quantizeRow(type, values, 0, out, 0, values.length);
}
