// readGguf: parses a GGUF v2/v3 file (either endianness) from caller bytes, strictly, with zero-copy tensor views.
import { GgufError } from "../errors.ts";
import { escapedName } from "../util/terminal-text.ts";
import { Cursor, type Latin1View } from "./cursor.ts";
import { GGML_TYPES, REMOVED_GGML_TYPES, type GgmlTypeInfo } from "./ggml-types.ts";
import { MAX_KEY_BYTES, MAX_METADATA_ARRAY_ITEMS, readMetadata } from "./read-metadata.ts";
import { ParsedTensor, type GgufTensor, type RawInfo } from "./parsed-tensor.ts";
import type { GgufPlainValue, GgufValue } from "./value.ts";

export { MAX_METADATA_ARRAY_ITEMS };

export const GGUF_MAGIC = "GGUF";
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_MAX_ALIGNMENT = 1 << 20;
/** ggml's GGML_MAX_NAME: a tensor name plus its NUL terminator fits in 64 bytes. */
export const GGML_MAX_NAME = 64;
export const GGML_MAX_DIMS = 4;
/**
 * Most tensors and key/value pairs read (readGguf's maxTensors / maxKeyValues lift them). The file
 * size is no bound: each entry costs 10-20 times its bytes once parsed (2 Mi one-byte key/values, a
 * 33 MB file, took 11 s and ~580 MB). llama-3.1-405B has 1,138 tensors; llama.cpp files a few dozen keys.
 */
export const MAX_TENSORS = 1 << 16;
export const MAX_METADATA_KVS = 1 << 16;
/** Smallest encodings: a key/value (8-byte key length, 1-byte key, type, 1-byte value) and a tensor info. */
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8;
const INT64_MAX = (1n << 63n) - 1n;
/** GGML_TYPES as an array indexed by id (the fast path's lookup; ids are small). */
const TYPE_BY_ID: (GgmlTypeInfo | undefined)[] = [];
for (const t of GGML_TYPES.values()) TYPE_BY_ID[t.id] = t;

export type { GgufTensor } from "./parsed-tensor.ts";

export interface GgufFile {
  readonly version: 2 | 3;
  readonly littleEndian: boolean;
  readonly alignment: number;
  readonly metadata: Map<string, GgufValue>;
  /** Tensors in file order. */
  readonly tensors: readonly GgufTensor[];
  /** First byte after the tensor infos (start of the padding before the data section). */
  readonly tensorInfoEnd: number;
  /** Start of the data section (may equal or exceed byteLength for a zero-tensor file). */
  readonly dataOffset: number;
  readonly byteLength: number;
  tensorByName(name: string): GgufTensor | undefined;
  /** The plain value of a metadata key, or undefined. */
  meta(key: string): GgufPlainValue | undefined;
}

export interface ReadGgufOptions {
  /** Longest metadata key in bytes (default 65535). */
  maxKeyBytes?: number;
  /** Longest string value in bytes (default: no limit beyond the file size). */
  maxStringBytes?: number;
  /** Most bool and string items in all the metadata arrays together (default MAX_METADATA_ARRAY_ITEMS, 2^21). */
  maxArrayItems?: number;
  /** Most tensors (default MAX_TENSORS, 2^16) and key/value pairs (default MAX_METADATA_KVS, 2^16). */
  maxTensors?: number;
  maxKeyValues?: number;
  /** Decide every tensor info on the exact BigInt path (tests compare it with the fast path; same results, slower). */
  exactPathOnly?: boolean;
}

function header(c: Cursor): { version: 2 | 3 } {
  const b = c.bytes;
  c.need(4, "magic");
  if (b[0] !== 0x47 || b[1] !== 0x47 || b[2] !== 0x55 || b[3] !== 0x46) {
    const hex = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
    throw new GgufError("magic", 0, `expected "GGUF" (47 47 55 46), found ${hex}`);
  }
  c.pos = 4;
  const raw = c.u32("version");
  // gguf-py's big-endian files keep the magic as bytes but swap the version (and everything after).
  let version = raw;
  if ((raw & 0xffff) === 0 && raw !== 0) {
    c.le = false;
    version = c.dv.getUint32(4, false);
  }
  if (version === 1) {
    throw new GgufError("version", 4, "GGUF v1 (32-bit counts, 2023) is not supported: convert the file with a current llama.cpp");
  }
  if (version !== 2 && version !== 3) {
    // The stored value as written (little-endian); the byte-swapped reading only when it was tried.
    const read = c.le ? `${raw}` : `${raw} (${version} read big-endian)`;
    throw new GgufError("version", 4, `unsupported GGUF version ${read} (only 2 and 3 are read)`);
  }
  return { version };
}

function alignmentOf(md: Map<string, GgufValue>, at: Map<string, number>): number {
  const v = md.get("general.alignment");
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const off = at.get("general.alignment")!;
  if (v.type !== 4) throw new GgufError("general.alignment", off, `must be a UINT32, found value type ${v.type}`);
  const a = v.value;
  if (a === 0 || (a & (a - 1)) !== 0 || a > GGUF_MAX_ALIGNMENT) {
    throw new GgufError("general.alignment", off, `${a} is not a power of two between 1 and ${GGUF_MAX_ALIGNMENT}`);
  }
  return a;
}

function tensorInfo(c: Cursor, i: number, alignment: number, names: Set<string>): RawInfo {
  const infoAt = c.pos;
  const f = `tensor[${i}]`;
  const lenAt = c.pos;
  // Check the name length before decoding: names are short by definition.
  c.need(8, `${f}.name length`);
  const len = c.dv.getBigUint64(c.pos, c.le);
  if (len >= BigInt(GGML_MAX_NAME)) {
    throw new GgufError(`${f}.name`, lenAt, `tensor name length ${len} is not below ${GGML_MAX_NAME} bytes`);
  }
  const name = c.str(`${f}.name`, GGML_MAX_NAME - 1);
  if (name.length === 0) throw new GgufError(`${f}.name`, lenAt, "tensor name is empty");
  // Escaped in messages, as keys are (read-metadata.ts).
  if (names.has(name)) throw new GgufError(`${f}.name`, lenAt, `duplicate tensor name "${escapedName(name)}"`);
  names.add(name);
  const fn = `tensor "${escapedName(name)}"`;
  const ndAt = c.pos;
  const nDims = c.u32(`${fn} n_dims`);
  if (nDims < 1 || nDims > GGML_MAX_DIMS) {
    throw new GgufError(`${fn} n_dims`, ndAt, `n_dims ${nDims} is not between 1 and ${GGML_MAX_DIMS}`);
  }
  const dims: bigint[] = [];
  let n = 1n;
  for (let d = 0; d < nDims; d++) {
    const at = c.pos;
    const v = c.u64(`${fn} ne[${d}]`);
    if (v < 1n || v > INT64_MAX) throw new GgufError(`${fn} ne[${d}]`, at, `dimension ${v} is not between 1 and 2^63-1`);
    dims.push(v);
    n *= v;
    if (n > INT64_MAX) throw new GgufError(`${fn} ne[${d}]`, at, `element count overflows int64 (${n})`);
  }
  const typeAt = c.pos;
  const type = c.u32(`${fn} type`);
  const info = GGML_TYPES.get(type);
  if (info === undefined) {
    const removed = REMOVED_GGML_TYPES.get(type);
    throw new GgufError(`${fn} type`, typeAt,
      removed ? `ggml type ${type} (${removed}) was removed from ggml and is not supported` : `unknown ggml type ${type}`);
  }
  if (dims[0]! % BigInt(info.blockSize) !== 0n) {
    throw new GgufError(`${fn} ne[0]`, ndAt + 4, `ne[0] = ${dims[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  const nBytes = (n / BigInt(info.blockSize)) * BigInt(info.typeSize);
  if (nBytes > BigInt(c.end)) {
    throw new GgufError(`${fn} ne`, ndAt, `${n} ${info.name} elements need ${nBytes} bytes, more than the whole file (${c.end})`);
  }
  const offsetAt = c.pos;
  const rel = c.u64(`${fn} offset`);
  if (rel % BigInt(alignment) !== 0n) {
    throw new GgufError(`${fn} offset`, offsetAt, `offset ${rel} is not a multiple of the alignment ${alignment}`);
  }
  if (rel + nBytes > BigInt(c.end)) {
    throw new GgufError(`${fn} offset`, offsetAt, `data [${rel}, ${rel + nBytes}) is outside the data section (the file has ${c.end} bytes)`);
  }
  return { name, type, typeName: info.name, ne: dims.map(Number), nElements: Number(n), nBytes: Number(nBytes), rel: Number(rel), infoAt, offsetAt };
}

/**
 * The common case without BigInt or error strings: returns null (having consumed nothing) at the first
 * thing that is unusual or wrong, and the caller re-reads the record with `tensorInfo`, which decides
 * exactly and names the field. Accepts only records `tensorInfo` accepts, with the same result.
 */
function tensorInfoFast(c: Cursor, alignment: number, names: Set<string>, ascii: Latin1View): RawInfo | null {
  const { end, bytes } = c;
  const at = c.pos;
  if (end - at < 8) return null;
  const len = c.u64fast(at);
  if (len < 1 || len >= GGML_MAX_NAME || end - at - 8 < len) return null;
  let p = at + 8;
  for (let k = 0; k < len; k++) if (bytes[p + k]! >= 0x80) return null; // ASCII cannot fail UTF-8 decoding
  // ASCII is its own latin1: a native slice of a Buffer view, ~3x faster than TextDecoder here.
  const name = ascii.latin1Slice(p, p + len);
  p += len;
  if (end - p < 4) return null;
  const nDims = c.u32at(p);
  p += 4;
  if (nDims < 1 || nDims > GGML_MAX_DIMS || end - p < nDims * 8 + 12) return null;
  const ne: number[] = new Array<number>(nDims);
  let n = 1;
  for (let d = 0; d < nDims; d++, p += 8) {
    const v = c.u64fast(p);
    if (v < 1) return null;
    n *= v;
    if (n > Number.MAX_SAFE_INTEGER) return null;
    ne[d] = v;
  }
  const type = c.u32at(p);
  p += 4;
  const info = TYPE_BY_ID[type];
  if (info === undefined || ne[0]! % info.blockSize !== 0) return null;
  const nBytes = (n / info.blockSize) * info.typeSize;
  const offsetAt = p;
  const rel = c.u64fast(p);
  if (rel < 0 || rel % alignment !== 0 || rel + nBytes > end) return null;
  // The duplicate check last, as one hash operation: a name seen before leaves the set's size as it was.
  const seen = names.size;
  names.add(name);
  if (names.size === seen) return null;
  c.pos = p + 8;
  return { name, type, typeName: info.name, ne, nElements: n, nBytes, rel, infoAt: at, offsetAt };
}

/**
 * Parses a GGUF file held in `bytes` (a whole file, an mmap of one, or a subrange). Offsets in the
 * result and in errors are relative to `bytes`. Tensor `data` are views into `bytes`: nothing is copied.
 * Throws GgufError (field, byte offset, problem) for anything malformed.
 */
export function readGguf(bytes: Uint8Array, opts: ReadGgufOptions = {}): GgufFile {
  const c = new Cursor(bytes, true);
  const { version } = header(c);
  const tcAt = c.pos;
  const tensorCount = c.u64("tensor_count");
  const kcAt = c.pos;
  const kvCount = c.u64("kv_count");
  const left = BigInt(c.left);
  if (tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) > left) {
    throw new GgufError("tensor_count", tcAt, `${tensorCount} tensor infos cannot fit in the ${left} bytes left`);
  }
  if (kvCount * BigInt(MIN_KV_BYTES) + tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) > left) {
    throw new GgufError("kv_count", kcAt, `${kvCount} key/value pairs and ${tensorCount} tensor infos cannot fit in the ${left} bytes left`);
  }
  const maxTensors = opts.maxTensors ?? MAX_TENSORS;
  if (tensorCount > BigInt(maxTensors)) throw new GgufError("tensor_count", tcAt, `${tensorCount} tensors: at most ${maxTensors} are read`);
  const maxKvs = opts.maxKeyValues ?? MAX_METADATA_KVS;
  if (kvCount > BigInt(maxKvs)) throw new GgufError("kv_count", kcAt, `${kvCount} key/value pairs: at most ${maxKvs} are read`);
  const maxString = Math.min(opts.maxStringBytes ?? bytes.byteLength, bytes.byteLength);
  const { metadata, valueOffsets } = readMetadata(c, Number(kvCount), opts.maxKeyBytes ?? MAX_KEY_BYTES, maxString, opts.maxArrayItems ?? MAX_METADATA_ARRAY_ITEMS);
  const alignment = alignmentOf(metadata, valueOffsets);

  const names = new Set<string>();
  const raws: RawInfo[] = [];
  const ascii = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Latin1View; // a view, not a copy
  for (let i = 0; i < Number(tensorCount); i++) raws.push((opts.exactPathOnly ? null : tensorInfoFast(c, alignment, names, ascii)) ?? tensorInfo(c, i, alignment, names));
  const tensorInfoEnd = c.pos;
  const dataOffset = Math.ceil(tensorInfoEnd / alignment) * alignment;
  if (raws.length > 0 && dataOffset > bytes.byteLength) {
    throw new GgufError("data section", tensorInfoEnd,
      `data section would start at ${dataOffset}, past the end of the file (${bytes.byteLength} bytes)`);
  }
  const dataSize = Math.max(0, bytes.byteLength - dataOffset);
  for (const r of raws) {
    if (r.rel + r.nBytes > dataSize) {
      throw new GgufError(`tensor "${escapedName(r.name)}" offset`, r.offsetAt,
        `data [${r.rel}, ${r.rel + r.nBytes}) is outside the data section (${dataSize} bytes from ${dataOffset})`);
    }
  }
  // Writers lay tensors out in order: then one pass proves there is no overlap; otherwise sort first.
  let ordered = true;
  for (let i = 1; i < raws.length && ordered; i++) ordered = raws[i]!.rel >= raws[i - 1]!.rel;
  const byOffset = ordered ? raws : [...raws].sort((a, b) => a.rel - b.rel);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (cur.rel < prev.rel + prev.nBytes) {
      throw new GgufError(`tensor "${escapedName(cur.name)}" offset`, cur.offsetAt,
        `data [${cur.rel}, ${cur.rel + cur.nBytes}) overlaps tensor "${escapedName(prev.name)}" [${prev.rel}, ${prev.rel + prev.nBytes})`);
    }
  }
  const tensors: GgufTensor[] = raws.map((r) => new ParsedTensor(bytes, r, dataOffset + r.rel));
  let index: Map<string, GgufTensor> | null = null; // built on the first lookup: many callers only iterate
  return {
    version, littleEndian: c.le, alignment, metadata, tensors, tensorInfoEnd, dataOffset, byteLength: bytes.byteLength,
    tensorByName: (name) => (index ??= new Map(tensors.map((t) => [t.name, t]))).get(name),
    meta: (key) => metadata.get(key)?.value,
  };
}
