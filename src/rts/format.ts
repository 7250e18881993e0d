// The RTS header (DESIGN §7): 512 bytes, big-endian, seed layout + an optional checksum extension in the reserved bytes.
//
//   0   u8[4]  magic 52 54 53 01 ("RTS\x01")     4   u32 version (1)
//   8   u64    binary offset                      16  u64 binary size
//   24  u64    tensor offset                      32  u64 tensor size
//   40..512    reserved. Either all zero (seed layout) or the checksum extension:
//   40  u8[4]  "CSUM"   44 u32 extension version (1)   48 u32 algorithm (1 = SHA-256)   52 u32 zero
//   56  u8[32] SHA-256 of the binary section          88  u8[32] SHA-256 of the tensor section
//   120 u32    CRC-32 (IEEE) of all 512 header bytes with bytes 120..124 taken as zero
//   124..512   zero
// Readers trust only these offsets (never 512 + size) and check every range against the file size.
import { PackageError } from "../errors.ts";
import { bytesEqual, crc32 } from "./checksum.ts";

export const RTS_MAGIC = new Uint8Array([0x52, 0x54, 0x53, 0x01]);
export const RTS_VERSION = 1;
export const RTS_HEADER_SIZE = 512;
/** Tensor sections written by `pack` start on this boundary so they can be mapped directly. */
export const RTS_TENSOR_ALIGNMENT = 4096;
export const CSUM_MAGIC = new Uint8Array([0x43, 0x53, 0x55, 0x4d]);
export const CSUM_VERSION = 1;
export const CSUM_SHA256 = 1;
const CRC_AT = 120;
const EXT_END = 124;

export interface RtsChecksums {
  binarySha256: Uint8Array;
  tensorSha256: Uint8Array;
}

export interface RtsHeader {
  version: number;
  binaryOffset: number;
  binarySize: number;
  tensorOffset: number;
  tensorSize: number;
  /** Present when the header carries the checksum extension (files from `pack`); null for seed-layout files. */
  checksums: RtsChecksums | null;
}

/** True when the first bytes are the RTS magic. */
export function isRtsMagic(head: Uint8Array): boolean {
  return head.length >= 4 && bytesEqual(head.subarray(0, 4), RTS_MAGIC);
}

function headerCrc(h: Uint8Array): number {
  const copy = h.slice(0, RTS_HEADER_SIZE);
  copy.fill(0, CRC_AT, CRC_AT + 4);
  return crc32(copy);
}

/** Encodes a header; with `checksums` null the reserved bytes stay zero (the seed's layout). */
export function encodeRtsHeader(h: Omit<RtsHeader, "version">): Uint8Array {
  const b = new Uint8Array(RTS_HEADER_SIZE);
  const v = new DataView(b.buffer);
  b.set(RTS_MAGIC, 0);
  v.setUint32(4, RTS_VERSION);
  v.setBigUint64(8, BigInt(h.binaryOffset));
  v.setBigUint64(16, BigInt(h.binarySize));
  v.setBigUint64(24, BigInt(h.tensorOffset));
  v.setBigUint64(32, BigInt(h.tensorSize));
  if (h.checksums) {
    b.set(CSUM_MAGIC, 40);
    v.setUint32(44, CSUM_VERSION);
    v.setUint32(48, CSUM_SHA256);
    b.set(h.checksums.binarySha256, 56);
    b.set(h.checksums.tensorSha256, 88);
    v.setUint32(CRC_AT, headerCrc(b));
  }
  return b;
}

/**
 * Decodes and validates a header against the size of the file it came from. Throws PackageError naming the
 * field (`header.magic`, `header.tensorOffset`, ...) for a truncated file or any inconsistent value.
 */
export function decodeRtsHeader(head: Uint8Array, fileSize: number, where = "RTS file"): RtsHeader {
  const fail = (field: string, problem: string): never => {
    throw new PackageError(`header.${field}`, `${problem} (${where}, ${fileSize} bytes)`);
  };
  if (fileSize < RTS_HEADER_SIZE || head.length < RTS_HEADER_SIZE) fail("size", `file is shorter than the ${RTS_HEADER_SIZE}-byte header`);
  if (!isRtsMagic(head)) fail("magic", `expected 52 54 53 01, found ${[...head.subarray(0, 4)].map((x) => x.toString(16).padStart(2, "0")).join(" ")}`);
  const v = new DataView(head.buffer, head.byteOffset, RTS_HEADER_SIZE);
  // The checksum extension first: when present, it vouches for every other header byte.
  let checksums: RtsChecksums | null = null;
  if (bytesEqual(head.subarray(40, 44), CSUM_MAGIC)) {
    const stored = v.getUint32(CRC_AT);
    const actual = headerCrc(head);
    if (stored !== actual) fail("crc32", `header CRC-32 is 0x${actual.toString(16).padStart(8, "0")}, stored 0x${stored.toString(16).padStart(8, "0")}: the header is corrupt`);
    if (v.getUint32(44) !== CSUM_VERSION) fail("checksums.version", `unsupported checksum extension version ${v.getUint32(44)}`);
    if (v.getUint32(48) !== CSUM_SHA256) fail("checksums.algorithm", `unknown checksum algorithm ${v.getUint32(48)}`);
    const nz = head.subarray(EXT_END).findIndex((x) => x !== 0);
    if (v.getUint32(52) !== 0 || nz >= 0) fail("reserved", `non-zero reserved byte at ${nz >= 0 ? EXT_END + nz : 52}`);
    checksums = { binarySha256: head.slice(56, 88), tensorSha256: head.slice(88, 120) };
  } else {
    const nz = head.subarray(40, RTS_HEADER_SIZE).findIndex((x) => x !== 0);
    if (nz >= 0) fail("reserved", `non-zero byte at ${40 + nz} and no checksum extension: the header is corrupt or from an unknown writer`);
  }
  const version = v.getUint32(4);
  if (version !== RTS_VERSION) fail("version", `unsupported version ${version} (expected ${RTS_VERSION})`);
  const size = BigInt(fileSize);
  const u64 = (at: number, field: string): bigint => {
    const x = v.getBigUint64(at);
    if (x > size) fail(field, `${x} is past the end of the file`);
    return x;
  };
  const bOff = u64(8, "binaryOffset");
  const bSize = u64(16, "binarySize");
  const tOff = u64(24, "tensorOffset");
  const tSize = u64(32, "tensorSize");
  if (bOff < BigInt(RTS_HEADER_SIZE)) fail("binaryOffset", `${bOff} points inside the header`);
  if (tOff < BigInt(RTS_HEADER_SIZE)) fail("tensorOffset", `${tOff} points inside the header`);
  if (bOff + bSize > size) fail("binarySize", `binary section [${bOff}, ${bOff + bSize}) extends past the end of the file (truncated?)`);
  if (tSize === 0n) fail("tensorSize", "the tensor section is empty");
  if (tOff + tSize > size) fail("tensorSize", `tensor section [${tOff}, ${tOff + tSize}) extends past the end of the file (truncated?)`);
  if (bSize > 0n && bOff < tOff + tSize && tOff < bOff + bSize) {
    fail("tensorOffset", `tensor section [${tOff}, ${tOff + tSize}) overlaps the binary section [${bOff}, ${bOff + bSize})`);
  }
  return { version, binaryOffset: Number(bOff), binarySize: Number(bSize), tensorOffset: Number(tOff), tensorSize: Number(tSize), checksums };
}
