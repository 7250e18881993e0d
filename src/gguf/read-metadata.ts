// Reads the GGUF key/value section: every value type, arrays of scalars or strings, strict checks.
import { GgufError } from "../errors.ts";
import type { Cursor } from "./cursor.ts";
import { GGUF_SCALAR_SIZE, GGUF_VALUE_TYPE_NAMES, type GgufValue } from "./value.ts";

/** Longest metadata key accepted, in bytes. */
export const MAX_KEY_BYTES = 65535;

/** Smallest encoding of one array item of a type (a string is at least its 8-byte length). */
function minItemSize(t: number): number {
  return t === 8 ? 8 : GGUF_SCALAR_SIZE[t]!;
}

function typeId(c: Cursor, field: string): number {
  const at = c.pos;
  const t = c.u32(field);
  if (t > 12) throw new GgufError(field, at, `value type ${t} is not a GGUF type (0..12)`);
  return t;
}

function bool(c: Cursor, field: string, index = -1): boolean {
  const at = c.pos;
  const f = () => (index >= 0 ? `${field}[${index}]` : field);
  if (at >= c.end) c.need(1, f());
  const b = c.bytes[at]!;
  if (b > 1) throw new GgufError(f(), at, `bool must be 0 or 1, found ${b}`);
  c.pos = at + 1;
  return b === 1;
}

/** Reads one scalar of type `t` (not ARRAY). */
export function readScalar(c: Cursor, t: number, field: string, maxString: number): GgufValue {
  switch (t) {
    case 0: return { type: 0, value: c.u8(field) };
    case 1: return { type: 1, value: c.i8(field) };
    case 2: return { type: 2, value: c.u16(field) };
    case 3: return { type: 3, value: c.i16(field) };
    case 4: return { type: 4, value: c.u32(field) };
    case 5: return { type: 5, value: c.i32(field) };
    case 6: return { type: 6, value: c.f32(field) };
    case 7: return { type: 7, value: bool(c, field) };
    case 8: return { type: 8, value: c.str(field, maxString) };
    case 10: return { type: 10, value: c.u64(field) };
    case 11: return { type: 11, value: c.i64(field) };
    case 12: return { type: 12, value: c.f64(field) };
    default: throw new GgufError(field, c.pos, `value type ${t} is not a scalar type`);
  }
}

const ctors = {
  0: Uint8Array, 1: Int8Array, 2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array,
  6: Float32Array, 10: BigUint64Array, 11: BigInt64Array, 12: Float64Array,
} as const;

function swapInPlace(u8: Uint8Array, size: number): void {
  for (let i = 0; i < u8.length; i += size) u8.subarray(i, i + size).reverse();
}

/** Reads an ARRAY value (the item type and count follow the ARRAY type id). */
function readArray(c: Cursor, field: string, maxString: number): GgufValue {
  const itemAt = c.pos;
  const item = typeId(c, `${field} item type`);
  if (item === 9) throw new GgufError(`${field} item type`, itemAt, "nested arrays are not supported");
  const countAt = c.pos;
  const count = c.u64(`${field} count`);
  const min = minItemSize(item);
  if (count * BigInt(min) > BigInt(c.left)) {
    throw new GgufError(`${field} count`, countAt,
      `${count} items of ${GGUF_VALUE_TYPE_NAMES[item]} need at least ${count * BigInt(min)} bytes, only ${c.left} are left`);
  }
  const n = Number(count);
  if (item === 8) {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(c.str(field, maxString, i));
    return { type: 9, itemType: 8, value: out };
  }
  if (item === 7) {
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push(bool(c, field, i));
    return { type: 9, itemType: 7, value: out };
  }
  const t = item as keyof typeof ctors;
  const bytes = c.bytes.slice(c.pos, c.pos + n * min); // a copy: aligned, and swappable for big-endian
  if (!c.le && min > 1) swapInPlace(bytes, min);
  c.pos += n * min;
  const value = new ctors[t](bytes.buffer, 0, n);
  return { type: 9, itemType: t, value } as GgufValue;
}

export interface MetadataResult {
  metadata: Map<string, GgufValue>;
  /** Byte offset of each value (after its type id), for errors about values. */
  valueOffsets: Map<string, number>;
}

/** Reads `count` key/value pairs; `count` has already been capped by the bytes left. */
export function readMetadata(c: Cursor, count: number, maxKey: number, maxString: number): MetadataResult {
  const metadata = new Map<string, GgufValue>();
  const valueOffsets = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const keyAt = c.pos;
    const key = c.str(`kv[${i}].key`, maxKey);
    if (key.length === 0) throw new GgufError(`kv[${i}].key`, keyAt, "key is empty");
    if (metadata.has(key)) throw new GgufError(`kv[${i}].key`, keyAt, `duplicate key "${key}"`);
    const field = `kv "${key}"`;
    const t = typeId(c, `${field} type`);
    valueOffsets.set(key, c.pos);
    const v = t === 9 ? readArray(c, field, maxString) : readScalar(c, t, field, maxString);
    metadata.set(key, v);
  }
  return { metadata, valueOffsets };
}
