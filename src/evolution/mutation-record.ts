// Journal payload of an accepted mutation (record type 1): what replay needs to re-apply it exactly.
import { JournalError } from "../errors.ts";
import type { Mutation } from "./slot-codec.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/**
 * Layout (little-endian): u8 version (1), u8 reserved, u16 name length, name bytes,
 * u64 element offset, f64 confidence, u32 value count, f32 values[count].
 */
/** The last tensor name and its UTF-8 bytes: a producer tuning one tensor sends the same name every time. */
let lastName = "";
let lastNameBytes = new Uint8Array(0);

export function encodeMutationRecord(m: Mutation): Uint8Array {
  if (m.tensor !== lastName) {
    lastNameBytes = enc.encode(m.tensor);
    lastName = m.tensor;
  }
  const name = lastNameBytes;
  // Both views over one ArrayBuffer made first: `.buffer` of a small Uint8Array makes JSC create
  // its buffer on the spot, which was the largest cost of a journaled mutation in the drain.
  const buf = new ArrayBuffer(4 + name.length + 20 + 4 * m.values.length);
  const out = new Uint8Array(buf);
  const v = new DataView(buf);
  v.setUint8(0, 1);
  v.setUint16(2, name.length, true);
  out.set(name, 4);
  let o = 4 + name.length;
  // u64 as two u32 halves (a safe integer): no BigInt per record.
  v.setUint32(o, m.elementOffset >>> 0, true);
  v.setUint32(o + 4, Math.floor(m.elementOffset / 0x1_0000_0000), true);
  v.setFloat64(o + 8, m.confidence, true);
  v.setUint32(o + 16, m.values.length, true);
  o += 20;
  // One setFloat32 per value: a byte copy would need `values.buffer`, which JSC materialises on
  // first access for a small typed array (measured: more than the loop).
  for (let i = 0; i < m.values.length; i++) v.setFloat32(o + 4 * i, m.values[i]!, true);
  return out;
}

export function decodeMutationRecord(p: Uint8Array): Mutation {
  const bad = (why: string) => new JournalError(`mutation record malformed: ${why}`);
  if (p.length < 4) throw bad("too short");
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  if (v.getUint8(0) !== 1) throw bad(`version ${v.getUint8(0)}`);
  const nl = v.getUint16(2, true);
  if (p.length < 4 + nl + 20) throw bad("truncated header");
  let tensor: string;
  try {
    tensor = dec.decode(p.subarray(4, 4 + nl));
  } catch (cause) {
    throw new JournalError("mutation record malformed: name is not UTF-8", { cause });
  }
  let o = 4 + nl;
  const elementOffset = Number(v.getBigUint64(o, true));
  const confidence = v.getFloat64(o + 8, true);
  const count = v.getUint32(o + 16, true);
  o += 20;
  if (p.length !== o + 4 * count) throw bad(`value count ${count} does not match length ${p.length}`);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = v.getFloat32(o + 4 * i, true);
  return { tensor, elementOffset, confidence, values };
}
