// Streams a model (metadata + current tensor bytes) as GGUF chunks through the gguf writer's layout, without one big copy.
import { type GgufTensorInput, type GgufValue, ggufLayout } from "../gguf/index.ts";

/** GGUF file bytes in order: header, then each tensor followed by its alignment padding. */
export function* encodeModel(
  metadata: ReadonlyMap<string, GgufValue> | Iterable<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorInput[],
  alignment?: number,
): Generator<Uint8Array> {
  const lay = ggufLayout({ metadata, tensors, alignment });
  yield lay.header;
  let pos = lay.dataOffset;
  for (let i = 0; i < tensors.length; i++) {
    const at = lay.dataOffset + lay.relOffsets[i]!;
    if (at > pos) yield new Uint8Array(at - pos);
    const data = tensors[i]!.data;
    yield data;
    pos = at + data.byteLength;
  }
  if (lay.totalSize > pos) yield new Uint8Array(lay.totalSize - pos);
}

/** Concatenates chunks (tests and small models). */
export function concatChunks(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const out = new Uint8Array(list.reduce((a, c) => a + c.byteLength, 0));
  let o = 0;
  for (const c of list) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
