// A bounds-checked little/big-endian reader over caller bytes: every read checks the bytes left first.
import { GgufError } from "../errors.ts";

/** Node's (and Bun's) native latin1 slice of a Buffer, not in the type declarations. */
export type Latin1View = Buffer & { latin1Slice(start: number, end: number): string };

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

  /** The u64 at `at` as a Number when it is below 2^53, else -1 (callers then take the exact BigInt path). */
  u64fast(at: number): number {
    const lo = this.u32at(this.le ? at : at + 4);
    const hi = this.u32at(this.le ? at + 4 : at);
    return hi < 0x200000 ? hi * 0x100000000 + lo : -1;
  }

  /** The u32 at `at` (caller checked the bounds); byte arithmetic is faster than DataView here. */
  u32at(at: number): number {
    const b = this.bytes;
    return this.le
      ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
      : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  /**
   * A GGUF string: u64 byte length then UTF-8 bytes (no terminator). The length is checked against
   * `maxLen` and the bytes left before anything is read or allocated; error texts are only built on failure.
   */
  str(field: string, maxLen: number, index = -1): string {
    const at = this.pos;
    if (index >= 0 && (this.end - at < 8 || this.u64fast(at) < 0 || this.u64fast(at) > Math.min(maxLen, this.end - at - 8))) {
      field = `${field}[${index}]`; // item fields are only spelled out on the way to an error
    }
    if (this.end - at < 8) this.need(8, `${field} length`);
    const n = this.u64fast(at);
    if (n < 0 || n > maxLen || n > this.end - at - 8) {
      const len = this.dv.getBigUint64(at, this.le);
      if (len > BigInt(maxLen)) throw new GgufError(field, at, `string length ${len} exceeds the limit of ${maxLen} bytes`);
      throw new GgufError(field, at, `string length ${len} runs past the end of the file (${this.end - at - 8} bytes left)`);
    }
    this.pos = at + 8 + n;
    return decodeUtf8(this.bytes, at + 8, n, field, at, index);
  }
}

/** Fatal UTF-8 decoding of bytes[start, start+n) (Bun's TextDecoder beats any JS ASCII fast path). */
export function decodeUtf8(bytes: Uint8Array, start: number, n: number, field: string, at: number, index = -1): string {
  try {
    return utf8.decode(bytes.subarray(start, start + n));
  } catch (cause) {
    throw new GgufError(index >= 0 ? `${field}[${index}]` : field, at, "string is not valid UTF-8", { cause });
  }
}
