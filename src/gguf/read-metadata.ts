// Reads the GGUF key/value section: every value type, arrays of scalars or strings, strict checks.
import { GgufError } from "../errors.ts";
import { escapedName } from "../util/terminal-text.ts";
import { type Cursor, decodeUtf8, type Latin1View } from "./cursor.ts";
import { GGUF_SCALAR_SIZE, GGUF_VALUE_TYPE_NAMES, type GgufValue } from "./value.ts";

/** Longest metadata key accepted, in bytes. */
export const MAX_KEY_BYTES = 65535;
/**
 * Most bool and string items all the metadata arrays of a file may hold together (each becomes a JS
 * value: 8 bytes or more for 1 byte of file; a 64 MiB bool array took 7 s and ~690 MB). Real
 * vocabularies are far below: llama-3 has 128,256 tokens and 280,147 merges. Numeric arrays are
 * typed arrays (their own size) and not counted.
 */
export const MAX_METADATA_ARRAY_ITEMS = 1 << 21;

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

function bool(c: Cursor, field: string): boolean {
  const at = c.pos;
  c.need(1, field);
  const b = c.bytes[at]!;
  if (b > 1) throw new GgufError(field, at, `bool must be 0 or 1, found ${b}`);
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

const bswap32 = (x: number) => ((x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/**
 * Reverses the bytes of each `size`-byte item of `u8` in place, one item per step through an aligned
 * word view (`u8` is a fresh copy at offset 0); a subarray per item took 3.5 s for 32 Mi UINT16.
 */
function swapInPlace(u8: Uint8Array, size: number): void {
  if (size === 2) {
    const w = new Uint16Array(u8.buffer, u8.byteOffset, u8.byteLength / 2);
    for (let i = 0; i < w.length; i++) w[i] = ((w[i]! & 0xff) << 8) | (w[i]! >>> 8);
    return;
  }
  const w = new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength / 4);
  if (size === 4) {
    for (let i = 0; i < w.length; i++) w[i] = bswap32(w[i]!);
    return;
  }
  for (let i = 0; i < w.length; i += 2) {
    const lo = w[i]!;
    w[i] = bswap32(w[i + 1]!);
    w[i + 1] = bswap32(lo);
  }
}

/** Bool items: every byte 0 or 1, checked in one pass before the array is built. */
function boolItems(c: Cursor, field: string, n: number): boolean[] {
  const { bytes, pos } = c;
  for (let i = 0; i < n; i++) {
    const b = bytes[pos + i]!;
    if (b > 1) throw new GgufError(`${field}[${i}]`, pos + i, `bool must be 0 or 1, found ${b}`);
  }
  // Sized once and filled (push of 2 Mi booleans took 490 ms, this 90 ms).
  const out = new Array<boolean>(n).fill(false);
  for (let i = 0; i < n; i++) if (bytes[pos + i] === 1) out[i] = true;
  c.pos = pos + n;
  return out;
}

/** String items: empty and ASCII strings without a decoder call (ASCII is its own latin1), the rest decoded strictly. */
function stringItems(c: Cursor, field: string, n: number, maxString: number): string[] {
  const { bytes, end } = c;
  const ascii = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Latin1View; // a view, not a copy
  const out = new Array<string>(n).fill("");
  for (let i = 0; i < n; i++) {
    const at = c.pos;
    const len = end - at >= 8 ? c.u64fast(at) : -1;
    if (len < 0 || len > maxString || len > end - at - 8) {
      out[i] = c.str(field, maxString, i); // throws, naming the item
      continue;
    }
    const p = at + 8;
    let k = 0;
    while (k < len && bytes[p + k]! < 0x80) k++;
    c.pos = p + len;
    if (len > 0) out[i] = k === len ? ascii.latin1Slice(p, p + len) : decodeUtf8(bytes, p, len, field, at, i);
  }
  return out;
}

/** What is left of the file's allowance of bool and string array items. */
interface ItemBudget {
  left: number;
  readonly max: number;
}

/** Reads an ARRAY value (the item type and count follow the ARRAY type id). */
function readArray(c: Cursor, field: string, maxString: number, budget: ItemBudget): GgufValue {
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
  if (item === 7 || item === 8) {
    if (n > budget.left) {
      throw new GgufError(`${field} count`, countAt, `${n} ${GGUF_VALUE_TYPE_NAMES[item]} items: the metadata arrays of bools and strings may hold at most ${budget.max} items in all (${budget.max - budget.left} already read)`);
    }
    budget.left -= n;
    return item === 8 ? { type: 9, itemType: 8, value: stringItems(c, field, n, maxString) } : { type: 9, itemType: 7, value: boolItems(c, field, n) };
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
export function readMetadata(c: Cursor, count: number, maxKey: number, maxString: number, maxItems = MAX_METADATA_ARRAY_ITEMS): MetadataResult {
  const budget: ItemBudget = { left: maxItems, max: maxItems };
  const metadata = new Map<string, GgufValue>();
  const valueOffsets = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const keyAt = c.pos;
    const key = c.str(`kv[${i}].key`, maxKey);
    if (key.length === 0) throw new GgufError(`kv[${i}].key`, keyAt, "key is empty");
    // Names go into messages escaped: a key holding an escape sequence or a newline painted the
    // terminal or forged a line of `verify`'s output.
    if (metadata.has(key)) throw new GgufError(`kv[${i}].key`, keyAt, `duplicate key "${escapedName(key)}"`);
    const field = `kv "${escapedName(key)}"`;
    const t = typeId(c, `${field} type`);
    valueOffsets.set(key, c.pos);
    const v = t === 9 ? readArray(c, field, maxString, budget) : readScalar(c, t, field, maxString);
    metadata.set(key, v);
  }
  return { metadata, valueOffsets };
}
