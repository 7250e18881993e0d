// A bounds-checked little/big-endian reader over caller bytes: every read checks the bytes left first.
import { GgufError } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class Cursor {
  pos = 0;
  readonly end: number;
  readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public le: boolean,
  ) {
    this.end = bytes.byteLength;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get left(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are available at the current position. */
  need(n: number, field: string): void {
    if (n > this.end - this.pos) {
      throw new GgufError(field, this.pos, `needs ${n} bytes but only ${this.end - this.pos} are left in the file`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++]!;
  }
  i8(field: string): number {
    this.need(1, field);
    return this.dv.getInt8(this.pos++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.dv.getUint16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  i16(field: string): number {
    this.need(2, field);
    const v = this.dv.getInt16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.dv.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  i32(field: string): number {
    this.need(4, field);
    const v = this.dv.getInt32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  f32(field: string): number {
    this.need(4, field);
    const v = this.dv.getFloat32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  f64(field: string): number {
    this.need(8, field);
    const v = this.dv.getFloat64(this.pos, this.le);
    this.pos += 8;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.dv.getBigUint64(this.pos, this.le);
    this.pos += 8;
    return v;
  }
  i64(field: string): bigint {
    this.need(8, field);
    const v = this.dv.getBigInt64(this.pos, this.le);
    this.pos += 8;
    return v;
  }

  /**
   * A GGUF string: u64 byte length then UTF-8 bytes (no terminator). The length is checked as a
   * BigInt against `maxLen` and the bytes left before anything is read or allocated.
   */
  str(field: string, maxLen: number): string {
    const at = this.pos;
    const len = this.u64(`${field} length`);
    if (len > BigInt(maxLen)) {
      throw new GgufError(field, at, `string length ${len} exceeds the limit of ${maxLen} bytes`);
    }
    const n = Number(len);
    if (n > this.end - this.pos) {
      throw new GgufError(field, at, `string length ${len} runs past the end of the file (${this.end - this.pos} bytes left)`);
    }
    const start = this.pos;
    this.pos += n;
    return decodeUtf8(this.bytes, start, n, field, at);
  }
}

/** Fatal UTF-8 decoding of bytes[start, start+n), with an ASCII fast path for short strings. */
export function decodeUtf8(bytes: Uint8Array, start: number, n: number, field: string, at: number): string {
  if (n <= 64) {
    let s = "";
    let i = 0;
    for (; i < n; i++) {
      const b = bytes[start + i]!;
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (i === n) return s;
  }
  try {
    return utf8.decode(bytes.subarray(start, start + n));
  } catch (cause) {
    throw new GgufError(field, at, "string is not valid UTF-8", { cause });
  }
}
