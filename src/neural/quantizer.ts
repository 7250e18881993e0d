// Block quantizer for mutations of Q8_0 / Q4_0 / Q4_K / Q6_K tensors: the gguf module's ggml-reference quantizers.
import { ModelError } from "../errors.ts";
import { ggmlTypeInfo, quantizeRow } from "../gguf/index.ts";
import { KernelType } from "./matvec.ts";

const blockTypes: readonly number[] = [KernelType.Q8_0, KernelType.Q4_0, KernelType.Q4_K, KernelType.Q6_K];

/** Quantizes `values` (a whole number of the type's blocks: 32 values, 256 for Q4_K/Q6_K) into `out`. */
export function quantizeBlocks(type: number, values: Float32Array, out: Uint8Array): void {
  const info = ggmlTypeInfo(type);
  if (!info || !blockTypes.includes(type)) throw new ModelError(`no block quantizer for ggml type ${type}`);
  if (values.length % info.blockSize !== 0 || out.length !== (values.length / info.blockSize) * info.typeSize) {
    throw new ModelError(`quantizing ${values.length} values into ${out.length} bytes: not whole ${info.name} blocks`);
  }
  quantizeRow(type, values, 0, out, 0, values.length);
}
