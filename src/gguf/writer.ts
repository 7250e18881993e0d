// writeGguf: emits GGUF v3 little-endian (alignment honoured, every value type, tensors packed in order).
import { InputError } from "../errors.ts";
import { ggmlTypeInfo } from "./ggml-types.ts";
import { GGML_MAX_DIMS, GGML_MAX_NAME, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_ALIGNMENT } from "./reader.ts";
import { MAX_KEY_BYTES } from "./read-metadata.ts";
import { GGUF_SCALAR_SIZE, type GgufValue } from "./value.ts";

export interface GgufTensorInput {
  name: string;
  /** ggml type id. */
  type: number;
  /** Dimensions in ggml order (fastest first). */
  ne: readonly number[];
  /** Encoded bytes in that type, little-endian. */
  data: Uint8Array;
}

export interface GgufWriteSpec {
  metadata: ReadonlyMap<string, GgufValue> | Iterable<readonly [string, GgufValue]>;
  tensors: readonly GgufTensorInput[];
  /** Data alignment; written as general.alignment unless 32. Must agree with general.alignment if both are given. */
  alignment?: number;
}

/** The header bytes and where each tensor's data goes. */
export interface GgufLayout {
  /** Header + key/values + tensor infos + padding up to the data section. */
  header: Uint8Array;
  alignment: number;
  dataOffset: number;
  /** Offsets of each tensor relative to the data section, in spec order. */
  relOffsets: number[];
  totalSize: number;
}

const enc = new TextEncoder();
const pad = (n: number, a: number) => Math.ceil(n / a) * a;

class Sink {
  buf = new Uint8Array(4096);
  dv = new DataView(this.buf.buffer);
  len = 0;
  room(n: number): number {
    if (this.len + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + n) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
      this.dv = new DataView(nb.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  // room() may replace buf/dv, so it is always called before they are read.
  u8(v: number) { const at = this.room(1); this.buf[at] = v; }
  u16(v: number) { const at = this.room(2); this.dv.setUint16(at, v, true); }
  i32(v: number) { const at = this.room(4); this.dv.setInt32(at, v, true); }
  u32(v: number) { const at = this.room(4); this.dv.setUint32(at, v, true); }
  f32(v: number) { const at = this.room(4); this.dv.setFloat32(at, v, true); }
  f64(v: number) { const at = this.room(8); this.dv.setFloat64(at, v, true); }
  u64(v: bigint | number) { const at = this.room(8); this.dv.setBigUint64(at, BigInt(v), true); }
  bytes(b: Uint8Array) { const at = this.room(b.length); this.buf.set(b, at); }
  str(s: string) { const b = enc.encode(s); this.u64(b.length); this.bytes(b); }
}

const intRange: Record<number, [number, number]> = {
  0: [0, 0xff], 1: [-0x80, 0x7f], 2: [0, 0xffff], 3: [-0x8000, 0x7fff], 4: [0, 0xffffffff], 5: [-0x80000000, 0x7fffffff],
};

function scalar(s: Sink, t: number, v: unknown, field: string): void {
  const bad = (why: string) => new InputError(`GGUF writer: ${field}: ${why}`);
  if (t in intRange) {
    const [lo, hi] = intRange[t]!;
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw bad(`${String(v)} is not an integer in [${lo}, ${hi}]`);
  }
  switch (t) {
    case 0: case 1: s.u8(v as number & 0xff); return;
    case 2: case 3: s.u16((v as number) & 0xffff); return;
    case 4: s.u32(v as number); return;
    case 5: s.i32(v as number); return;
    case 6: case 12:
      if (typeof v !== "number") throw bad(`${String(v)} is not a number`);
      if (t === 6) s.f32(v);
      else s.f64(v);
      return;
    case 7: if (typeof v !== "boolean") throw bad(`${String(v)} is not a boolean`); s.u8(v ? 1 : 0); return;
    case 8:
      if (typeof v !== "string") throw bad("not a string");
      if (!v.isWellFormed()) throw bad("string has a lone UTF-16 surrogate (not encodable as UTF-8)");
      s.str(v);
      return;
    case 10: case 11: {
      const ok = typeof v === "bigint" && (t === 10 ? v >= 0n && v < 1n << 64n : v >= -(1n << 63n) && v < 1n << 63n);
      if (!ok) throw bad(`${String(v)} is not a ${t === 10 ? "u64" : "i64"} bigint`);
      s.u64(BigInt.asUintN(64, v as bigint));
      return;
    }
    default: throw bad(`value type ${t} is not a scalar type`);
  }
}

const typedCtors: Record<number, Function> = {
  2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array, 6: Float32Array, 10: BigUint64Array, 11: BigInt64Array, 12: Float64Array,
};

function value(s: Sink, v: GgufValue, field: string): void {
  s.u32(v.type);
  if (v.type !== 9) return scalar(s, v.type, v.value, field);
  const item = v.itemType as number;
  if (!Number.isInteger(item) || item < 0 || item > 12 || item === 9) {
    throw new InputError(`GGUF writer: ${field}: array item type ${item} is not supported (no nested arrays)`);
  }
  s.u32(item);
  const arr = v.value as ArrayLike<unknown>;
  // A null or a number here threw a raw TypeError (or wrote an array of undefined length).
  if (arr === null || typeof arr !== "object" || !Number.isSafeInteger(arr.length) || arr.length < 0) {
    throw new InputError(`GGUF writer: ${field}: an array value must be an array or typed array, got ${arr === null ? "null" : typeof arr}`);
  }
  s.u64(arr.length);
  const size = GGUF_SCALAR_SIZE[item]!;
  const ctor = typedCtors[item];
  if (size > 1 && ctor !== undefined && arr instanceof ctor) {
    const tv = arr as unknown as Uint8Array;
    s.bytes(new Uint8Array(tv.buffer, tv.byteOffset, tv.byteLength)); // typed arrays are little-endian here
    return;
  }
  for (let i = 0; i < arr.length; i++) scalar(s, item, arr[i], `${field}[${i}]`);
}

function checkTensor(t: GgufTensorInput, i: number, names: Set<string>): number {
  const bad = (why: string) => new InputError(`GGUF writer: tensor[${i}] "${t.name}": ${why}`);
  // Encoded, a lone surrogate became U+FFFD: two names that differed there were written as one (a file its own reader refuses).
  if (typeof t.name !== "string" || !t.name.isWellFormed()) throw bad("name has a lone UTF-16 surrogate (not encodable as UTF-8)");
  const nameLen = enc.encode(t.name).length;
  if (nameLen === 0 || nameLen >= GGML_MAX_NAME) throw bad(`name must be 1..${GGML_MAX_NAME - 1} bytes`);
  if (names.has(t.name)) throw bad("duplicate tensor name");
  names.add(t.name);
  const info = ggmlTypeInfo(t.type);
  if (!info) throw bad(`unknown ggml type ${t.type}`);
  if (t.ne.length < 1 || t.ne.length > GGML_MAX_DIMS) throw bad(`needs 1..${GGML_MAX_DIMS} dimensions`);
  let n = 1;
  for (const d of t.ne) {
    if (!Number.isSafeInteger(d) || d < 1) throw bad(`dimension ${d} is not a positive integer`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw bad("element count too large");
  if (t.ne[0]! % info.blockSize !== 0) throw bad(`ne[0] = ${t.ne[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  const nBytes = (n / info.blockSize) * info.typeSize;
  // Bytes, not elements: from JavaScript a Float32Array passed here was copied element by element
  // into the image (each value cut to a byte) by writeGguf and written as bytes by writeGgufFile.
  if (!(t.data instanceof Uint8Array)) throw bad("data must be a Uint8Array of the tensor's bytes");
  if (t.data.byteLength !== nBytes) throw bad(`data has ${t.data.byteLength} bytes, ${info.name} ${t.ne.join("x")} needs ${nBytes}`);
  return nBytes;
}

/** Validates the spec and encodes the header; tensor data is laid out in spec order, each padded to the alignment. */
export function ggufLayout(spec: GgufWriteSpec): GgufLayout {
  const md = new Map<string, GgufValue>(spec.metadata as Iterable<[string, GgufValue]>);
  const given = md.get("general.alignment");
  let alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (given !== undefined) {
    if (given.type !== 4) throw new InputError("GGUF writer: general.alignment must be a UINT32 value");
    if (spec.alignment !== undefined && spec.alignment !== given.value) {
      throw new InputError(`GGUF writer: alignment ${spec.alignment} disagrees with general.alignment ${given.value}`);
    }
    alignment = given.value;
  } else if (alignment !== GGUF_DEFAULT_ALIGNMENT) {
    md.set("general.alignment", { type: 4, value: alignment });
  }
  if (!Number.isInteger(alignment) || alignment < 1 || alignment > GGUF_MAX_ALIGNMENT || (alignment & (alignment - 1)) !== 0) {
    throw new InputError(`GGUF writer: alignment ${alignment} is not a power of two between 1 and ${GGUF_MAX_ALIGNMENT}`);
  }
  const names = new Set<string>();
  const sizes = spec.tensors.map((t, i) => checkTensor(t, i, names));
  const relOffsets: number[] = [];
  let rel = 0;
  for (const n of sizes) {
    relOffsets.push(rel);
    rel += pad(n, alignment);
  }
  const s = new Sink();
  s.bytes(enc.encode("GGUF"));
  s.u32(3);
  s.u64(spec.tensors.length);
  s.u64(md.size);
  for (const [k, v] of md) {
    if (k.length === 0 || !k.isWellFormed() || enc.encode(k).length > MAX_KEY_BYTES) {
      throw new InputError(`GGUF writer: metadata key "${k.slice(0, 40)}" must be 1..${MAX_KEY_BYTES} bytes of UTF-8`);
    }
    s.str(k);
    value(s, v, `metadata "${k}"`);
  }
  spec.tensors.forEach((t, i) => {
    s.str(t.name);
    s.u32(t.ne.length);
    for (const d of t.ne) s.u64(d);
    s.u32(t.type);
    s.u64(relOffsets[i]!);
  });
  const dataOffset = pad(s.len, alignment);
  const header = new Uint8Array(dataOffset); // padding stays zero
  header.set(s.buf.subarray(0, s.len));
  return { header, alignment, dataOffset, relOffsets, totalSize: dataOffset + rel };
}

/** Encodes a whole GGUF v3 file in memory. */
export function writeGguf(spec: GgufWriteSpec): Uint8Array {
  const lay = ggufLayout(spec);
  const out = new Uint8Array(lay.totalSize);
  out.set(lay.header, 0);
  spec.tensors.forEach((t, i) => out.set(t.data, lay.dataOffset + lay.relOffsets[i]!));
  return out;
}

/** Streams a GGUF v3 file to `path` (created or truncated; header, then each tensor and its padding); resolves to the byte count. */
export async function writeGgufFile(path: string, spec: GgufWriteSpec): Promise<number> {
  const lay = ggufLayout(spec);
  // Loaded here: the boot reaches this module (the checkpoint's layout) but never writes a file.
  const { open } = await import("node:fs/promises");
  const fh = await open(path, "w");
  try {
    await fh.write(lay.header);
    let pos = lay.dataOffset;
    for (let i = 0; i < spec.tensors.length; i++) {
      const t = spec.tensors[i]!;
      const at = lay.dataOffset + lay.relOffsets[i]!;
      if (at > pos) await fh.write(new Uint8Array(at - pos));
      await fh.write(t.data);
      pos = at + t.data.byteLength;
    }
    if (lay.totalSize > pos) await fh.write(new Uint8Array(lay.totalSize - pos));
  } finally {
    await fh.close();
  }
  return lay.totalSize;
}
