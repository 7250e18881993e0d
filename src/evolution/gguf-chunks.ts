// Serializes metadata + tensors as a GGUF v3 file, chunk by chunk (checkpoint exporter until src/gguf has a writer).
import type { GgufValue } from "../gguf/value.ts";

export interface ExportTensor {
  name: string;
  /** ggml type id. */
  type: number;
  /** Dimensions in ggml order. */
  ne: readonly number[];
  /** Raw tensor bytes in ggml layout. */
  data: Uint8Array;
}

const enc = new TextEncoder();

class Buf {
  private b = new Uint8Array(4096);
  private v = new DataView(this.b.buffer);
  len = 0;
  private need(n: number) {
    if (this.len + n <= this.b.length) return;
    const nb = new Uint8Array(Math.max(this.b.length * 2, this.len + n));
    nb.set(this.b.subarray(0, this.len));
    this.b = nb;
    this.v = new DataView(nb.buffer);
  }
  bytes(x: Uint8Array) {
    this.need(x.length);
    this.b.set(x, this.len);
    this.len += x.length;
  }
  num(type: number, x: number | bigint) {
    const size = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][type]!;
    this.need(size);
    const o = this.len;
    const v = this.v;
    switch (type) {
      case 0: case 7: v.setUint8(o, Number(x)); break;
      case 1: v.setInt8(o, Number(x)); break;
      case 2: v.setUint16(o, Number(x), true); break;
      case 3: v.setInt16(o, Number(x), true); break;
      case 4: v.setUint32(o, Number(x), true); break;
      case 5: v.setInt32(o, Number(x), true); break;
      case 6: v.setFloat32(o, Number(x), true); break;
      case 10: v.setBigUint64(o, BigInt(x), true); break;
      case 11: v.setBigInt64(o, BigInt(x), true); break;
      case 12: v.setFloat64(o, Number(x), true); break;
      default: throw new Error(`GGUF scalar type ${type}`);
    }
    this.len += size;
  }
  str(s: string) {
    const b = enc.encode(s);
    this.num(10, BigInt(b.length));
    this.bytes(b);
  }
  item(type: number, x: unknown) {
    if (type === 8) this.str(x as string);
    else if (type === 7) this.num(0, x ? 1 : 0);
    else this.num(type, x as number | bigint);
  }
  pad(align: number) {
    this.bytes(new Uint8Array((align - (this.len % align)) % align));
  }
  out(): Uint8Array {
    return this.b.slice(0, this.len);
  }
}

/** GGUF v3 bytes of `metadata` and `tensors` (data padded to `alignment`), as a header chunk then one chunk per tensor. */
export function* ggufChunks(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly ExportTensor[], alignment = 32): Iterable<Uint8Array> {
  const md = new Map(metadata);
  if (alignment !== 32) md.set("general.alignment", { type: 4, value: alignment });
  const h = new Buf();
  h.bytes(enc.encode("GGUF"));
  h.num(4, 3);
  h.num(10, BigInt(tensors.length));
  h.num(10, BigInt(md.size));
  for (const [k, v] of md) {
    h.str(k);
    h.num(4, v.type);
    if (v.type === 9) {
      h.num(4, v.itemType);
      const items = v.value as ArrayLike<unknown>;
      h.num(10, BigInt(items.length));
      for (let i = 0; i < items.length; i++) h.item(v.itemType, items[i]);
    } else h.item(v.type, v.value);
  }
  let off = 0;
  const padTo = (n: number) => Math.ceil(n / alignment) * alignment;
  for (const t of tensors) {
    h.str(t.name);
    h.num(4, t.ne.length);
    for (const d of t.ne) h.num(10, BigInt(d));
    h.num(4, t.type);
    h.num(10, BigInt(off));
    off += padTo(t.data.length);
  }
  h.pad(alignment);
  yield h.out();
  for (const t of tensors) {
    yield t.data;
    const pad = padTo(t.data.length) - t.data.length;
    if (pad) yield new Uint8Array(pad);
  }
}
