// Journal payload of an accepted mutation (record type 1): what replay needs to re-apply it exactly.
import { JournalError } from "../errors.ts";
import type { Mutation } from "./slot-codec.ts";
import { nameBytes } from "./tensor-name.ts";

const dec = new TextDecoder("utf-8", { fatal: true });

/** Bytes of the record of `m`. */
export const mutationRecordSize = (m: Mutation): number => 4 + nameBytes(m.tensor).length + 20 + 4 * m.values.length;

/**
 * Layout (little-endian): u8 version (1), u8 reserved, u16 name length, name bytes,
 * u64 element offset, f64 confidence, u32 value count, f32 values[count]. Written at `at` of `out`
 * (`view` is a DataView over all of `out`); returns the bytes written.
 */
export function encodeMutationRecordInto(out: Uint8Array, view: DataView, at: number, m: Mutation): number {
  const name = nameBytes(m.tensor);
  view.setUint8(at, 1);
  view.setUint8(at + 1, 0);
  view.setUint16(at + 2, name.length, true);
  out.set(name, at + 4);
  let o = at + 4 + name.length;
  // u64 as two u32 halves (a safe integer): no BigInt per record.
  view.setUint32(o, m.elementOffset >>> 0, true);
  view.setUint32(o + 4, Math.floor(m.elementOffset / 0x1_0000_0000), true);
  view.setFloat64(o + 8, m.confidence, true);
  view.setUint32(o + 16, m.values.length, true);
  o += 20;
  // One setFloat32 per value: a byte copy would need `values.buffer`, which JSC materialises on
  // first access for a small typed array (measured: more than the loop).
  for (let i = 0; i < m.values.length; i++) view.setFloat32(o + 4 * i, m.values[i]!, true);
  return o + 4 * m.values.length - at;
}

/** The record of one mutation in its own buffer. */
export function encodeMutationRecord(m: Mutation): Uint8Array {
  return encodeMutationRecords([m])[0]!;
}

/**
 * The records of `ms` in one buffer (one allocation for a drain's worth, not three per record),
 * returned as a view per record.
 */
export function encodeMutationRecords(ms: readonly Mutation[]): Uint8Array[] {
  let total = 0;
  for (const m of ms) total += mutationRecordSize(m);
  // The ArrayBuffer made first: `.buffer` of a small Uint8Array makes JSC create it on the spot.
  const buf = new ArrayBuffer(total);
  const out = new Uint8Array(buf);
  const view = new DataView(buf);
  const records: Uint8Array[] = [];
  let at = 0;
  for (const m of ms) {
    const n = encodeMutationRecordInto(out, view, at, m);
    records.push(out.subarray(at, at + n));
    at += n;
  }
  return records;
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
  if (nl === 0) throw bad("empty tensor name");
  let o = 4 + nl;
  const offset64 = v.getBigUint64(o, true);
  if (offset64 > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`element offset ${offset64} is past 2^53`);
  const elementOffset = Number(offset64);
  const confidence = v.getFloat64(o + 8, true);
  const count = v.getUint32(o + 16, true);
  o += 20;
  if (count === 0) throw bad("no values");
  if (p.length !== o + 4 * count) throw bad(`value count ${count} does not match length ${p.length}`);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = v.getFloat32(o + 4 * i, true);
  return { tensor, elementOffset, confidence, values };
}
