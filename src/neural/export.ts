// Streams a model (metadata + current tensor bytes) as GGUF chunks through the gguf writer's layout, without one big copy.
import { InputError } from "../errors.ts";
import { type GgufLayout, type GgufTensorInput, type GgufValue, ggufLayout } from "../gguf/index.ts";
import { kindOf } from "../util/kind-of.ts";

/**
 * GGUF file bytes in order: header, then each tensor followed by its alignment padding. The layout
 * (every metadata value and tensor checked) is made at the call, so a bad one throws there, not at
 * the first read of the chunks.
 */
export function encodeModel(
  metadata: ReadonlyMap<string, GgufValue> | Iterable<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorInput[],
  alignment?: number,
): Generator<Uint8Array> {
  return chunks(ggufLayout({ metadata, tensors, alignment }), tensors);
}

function* chunks(lay: GgufLayout, tensors: readonly GgufTensorInput[]): Generator<Uint8Array> {
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

/**
 * `chunks` with `check()` run before each is handed out: an iterator kept past the life of the bytes
 * it views (the runtime's cleanup or next init unmaps them) throws there instead of reading unmapped pages.
 */
export function* checkedChunks(chunks: Iterable<Uint8Array>, check: () => void): Generator<Uint8Array> {
  for (const c of chunks) {
    check();
    yield c;
  }
}

/**
 * A model's metadata plus `exportGguf`'s `extra` (bigint: UINT64; or a typed GGUF value), checked:
 * an InputError naming what was passed (null threw a raw TypeError; a Map, an array or a string was
 * taken key by key, or not at all).
 */
export function withExtraMetadata(base: ReadonlyMap<string, GgufValue>, extra: unknown): Map<string, GgufValue> {
  const proto = extra === null || typeof extra !== "object" ? undefined : Object.getPrototypeOf(extra);
  if (proto !== Object.prototype && proto !== null) throw new InputError(`exportGguf(extra): extra must be a plain object of metadata values, got ${kindOf(extra)}`);
  const md = new Map(base);
  for (const [k, v] of Object.entries(extra as object)) {
    if (typeof v === "bigint") md.set(k, { type: 10, value: v });
    else if (v !== null && typeof v === "object") md.set(k, v as GgufValue);
    else throw new InputError(`exportGguf(extra): metadata ${JSON.stringify(k)} must be a bigint or a GGUF value ({ type, value }), got ${kindOf(v)}`);
  }
  return md;
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
