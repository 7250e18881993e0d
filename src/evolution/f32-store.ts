// Stand-in weight store (F32 tensors only) with a minimal GGUF v3 writer/reader, until src/neural's runtime is wired.
import { ModelError } from "../errors.ts";
import { crc32cUpdate } from "../journal/crc32c.ts";
import type { CheckpointableWeights, TensorInfo } from "./weights.ts";

const ALIGN = 32;
const GGUF_TYPE_U32 = 4;
const GGUF_TYPE_STRING = 8;
const GGUF_TYPE_U64 = 10;
const GGML_F32 = 0;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class F32Store implements CheckpointableWeights {
  /** Tensors in file order. The arrays are private copies (mutations never touch a mapping). */
  readonly tensors = new Map<string, { dims: number[]; data: Float32Array }>();
  metadata = new Map<string, bigint | string>();

  static synthetic(spec: Record<string, number>, seed = 1): F32Store {
    const s = new F32Store();
    let x = seed >>> 0;
    for (const [name, n] of Object.entries(spec)) {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
      s.tensors.set(name, { dims: [n], data });
    }
    return s;
  }

  tensorInfo(name: string): TensorInfo | undefined {
    const t = this.tensors.get(name);
    return t ? { type: "F32", nElements: t.data.length } : undefined;
  }

  applyMutation(name: string, elementOffset: number, values: Float32Array): void {
    const t = this.tensors.get(name);
    if (!t || elementOffset < 0 || elementOffset + values.length > t.data.length) throw new ModelError(`mutation outside ${name}`);
    t.data.set(values, elementOffset);
  }

  /** CRC32C over every tensor's name and bytes, in order: equal weights give equal checksums. */
  checksum(): number {
    let c = 0;
    for (const [name, t] of this.tensors) {
      c = crc32cUpdate(c, enc.encode(name));
      c = crc32cUpdate(c, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    return c;
  }

  ggufChunks(extra: Record<string, bigint>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const kv = new Map<string, bigint | string>(this.metadata);
    for (const [k, v] of Object.entries(extra)) kv.set(k, v);
    const w = new Writer();
    w.bytes(enc.encode("GGUF"));
    w.u32(3);
    w.u64(BigInt(this.tensors.size));
    w.u64(BigInt(kv.size));
    for (const [k, v] of kv) {
      w.str(k);
      if (typeof v === "string") (w.u32(GGUF_TYPE_STRING), w.str(v));
      else (w.u32(GGUF_TYPE_U64), w.u64(v));
    }
    let off = 0;
    for (const [name, t] of this.tensors) {
      w.str(name);
      w.u32(t.dims.length);
      for (const d of t.dims) w.u64(BigInt(d));
      w.u32(GGML_F32);
      w.u64(BigInt(off));
      off += Math.ceil(t.data.byteLength / ALIGN) * ALIGN;
    }
    w.pad(ALIGN);
    out.push(w.finish());
    for (const t of this.tensors.values()) {
      out.push(new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)));
      const pad = Math.ceil(t.data.byteLength / ALIGN) * ALIGN - t.data.byteLength;
      if (pad) out.push(new Uint8Array(pad));
    }
    return out;
  }

  /** Reads a GGUF written by `ggufChunks` (F32 tensors, u32/u64/string metadata), checking every bound. */
  static fromGguf(b: Uint8Array): F32Store {
    const r = new Reader(b);
    if (dec.decode(r.take(4)) !== "GGUF") throw new ModelError("not a GGUF file");
    const version = r.u32();
    if (version !== 3) throw new ModelError(`GGUF version ${version}`);
    const nt = Number(r.u64());
    const nkv = Number(r.u64());
    if (nt > 1e6 || nkv > 1e6) throw new ModelError("implausible counts");
    const s = new F32Store();
    for (let i = 0; i < nkv; i++) {
      const k = r.str();
      const type = r.u32();
      if (type === GGUF_TYPE_STRING) s.metadata.set(k, r.str());
      else if (type === GGUF_TYPE_U64) s.metadata.set(k, r.u64());
      else if (type === GGUF_TYPE_U32) s.metadata.set(k, BigInt(r.u32()));
      else throw new ModelError(`metadata ${k}: unsupported type ${type}`);
    }
    const infos: { name: string; dims: number[]; off: number }[] = [];
    for (let i = 0; i < nt; i++) {
      const name = r.str();
      const nd = r.u32();
      if (nd > 4) throw new ModelError(`${name}: ${nd} dims`);
      const dims = Array.from({ length: nd }, () => Number(r.u64()));
      if (r.u32() !== GGML_F32) throw new ModelError(`${name}: only F32 supported by the stand-in store`);
      infos.push({ name, dims, off: Number(r.u64()) });
    }
    const base = Math.ceil(r.pos / ALIGN) * ALIGN;
    for (const t of infos) {
      const n = t.dims.reduce((a, d) => a * d, 1);
      const start = base + t.off;
      if (!Number.isSafeInteger(n) || start + 4 * n > b.length || start % 4) throw new ModelError(`${t.name}: data outside the file`);
      const data = new Float32Array(n);
      data.set(new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + start + 4 * n)));
      s.tensors.set(t.name, { dims: t.dims, data });
    }
    return s;
  }
}

class Writer {
  private buf = new Uint8Array(1024);
  private len = 0;
  private grow(n: number) {
    if (this.len + n <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  bytes(b: Uint8Array) {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  u32(x: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x, true);
    this.bytes(b);
  }
  u64(x: bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, x, true);
    this.bytes(b);
  }
  str(s: string) {
    const b = enc.encode(s);
    this.u64(BigInt(b.length));
    this.bytes(b);
  }
  pad(a: number) {
    this.bytes(new Uint8Array((a - (this.len % a)) % a));
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class Reader {
  pos = 0;
  private v: DataView;
  constructor(private b: Uint8Array) {
    this.v = new DataView(b.buffer, b.byteOffset, b.length);
  }
  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.b.length) throw new ModelError(`GGUF truncated at byte ${this.pos}`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u32(): number {
    this.take(4);
    return this.v.getUint32(this.pos - 4, true);
  }
  u64(): bigint {
    this.take(8);
    return this.v.getBigUint64(this.pos - 8, true);
  }
  str(): string {
    const n = this.u64();
    if (n > 65536n) throw new ModelError(`GGUF string of ${n} bytes at ${this.pos}`);
    return dec.decode(this.take(Number(n)));
  }
}
