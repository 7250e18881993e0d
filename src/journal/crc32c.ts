// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI (RFC 3720) and ext4: native, with a TypeScript reference.
import { nativeCrc32c } from "../sys/crc32c.ts";
import { lazy } from "../util/lazy.ts";

const POLY = 0x82f63b78;

/** 8 tables of 256 entries: table[k][b] is the CRC of byte b followed by k zero bytes (built on first use). */
const tables = lazy((): Uint32Array => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 0xff]! ^ (c >>> 8)) >>> 0;
      t[k * 256 + i] = c;
    }
  }
  return t;
});

type Update = (crc: number, bytes: Uint8Array, start: number, end: number) => number;
let impl: Update | null = null;

/**
 * Continues a CRC32C over `bytes[start, end)`: the shim's (the SSE4.2 instruction: the journal
 * checksums every record) when it can be loaded, else `crc32cUpdateReference`, with the same
 * results. Start with `crc = 0` (the pre/post inversion is done here), so
 * `crc32c(b) === crc32cUpdate(crc32cUpdate(0, b1), b2)` when b = b1 + b2.
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (end <= start) return crc >>> 0;
  impl ??= nativeCrc32c() ?? crc32cUpdateReference;
  return impl(crc, bytes, start, end) >>> 0;
}

/** The same CRC in TypeScript (slicing-by-8): the fallback without the shim, and what tests compare the shim's with. */
export function crc32cUpdateReference(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  const t = tables();
  while (end - i >= 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < end) {
    c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** CRC32C of `bytes[start, end)` as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cUpdate(0, bytes, start, end);
}
