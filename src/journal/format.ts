// On-disk format of the cortex journal: segment header and record framing (all little-endian).
import { JournalError } from "../errors.ts";
import { crc32c } from "./crc32c.ts";

/**
 * Segment file `<firstSeq, 20 digits>.vbj`, created complete (temp file, fsync, rename, fsync dir).
 * Header version 2 (the one written), 64 bytes:
 *   0  u8[8] magic "VBJRNL\0\x01"   8  u32 version (2)   12 u32 header size (64)
 *   16 u64 sequence of the first record in this segment
 *   24 u8[32] lineage: SHA-256 of the base model the records evolve (all zero: none recorded)
 *   56 u32 reserved (0)   60 u32 CRC32C of bytes [0, 60)
 * Version 1 (read, never written: images before the lineage was in the segment), 32 bytes:
 *   0 magic  8 u32 version (1)  12 u32 header size (32)  16 u64 first sequence  24 u32 reserved (0)
 *   28 u32 CRC32C of bytes [0, 28)
 * Records follow the header back to back, each:
 *   0  u32 payload length           4  u32 CRC32C of bytes [8, 28 + length)
 *   8  u64 sequence (previous + 1)  16 u64 durable: highest sequence known durable when written
 *   24 u8 type  25 u8 flags (0)  26 u16 reserved (0)   28 payload
 */
export const SEGMENT_MAGIC = new Uint8Array([0x56, 0x42, 0x4a, 0x52, 0x4e, 0x4c, 0x00, 0x01]);
export const SEGMENT_VERSION = 2;
/** The header size of the version written (a version 1 header is 32 bytes). */
export const SEGMENT_HEADER_SIZE = 64;
const headerSizeOf = (version: number): number => (version === 1 ? 32 : SEGMENT_HEADER_SIZE);
export const RECORD_HEADER_SIZE = 28;
/** No record payload is larger (a mutation of 1 MiB of values is already far past any slot). */
export const MAX_PAYLOAD = 1 << 20;

export const RecordType = { mutation: 1, checkpoint: 2 } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];
export const recordTypeName = (t: number): string =>
  t === RecordType.mutation ? "mutation" : t === RecordType.checkpoint ? "checkpoint" : `unknown(${t})`;

export const segmentFileName = (firstSeq: number): string => `${String(firstSeq).padStart(20, "0")}.vbj`;
const segmentRe = /^(\d{20})\.vbj$/;
export function parseSegmentFileName(name: string): number | null {
  const m = segmentRe.exec(name);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

const lineageRe = /^[0-9a-f]{64}$/;

/** A segment header: `lineage` is the hex SHA-256 it records, null when it records none (version 1, or written without one). */
export interface SegmentHeader {
  firstSeq: number;
  version: number;
  /** Bytes before the first record. */
  headerSize: number;
  lineage: string | null;
}

/** The header of a new segment (the current version), binding its records to `lineage` (hex SHA-256; null: none recorded). */
export function encodeSegmentHeader(firstSeq: number, lineage: string | null): Uint8Array {
  if (lineage !== null && !lineageRe.test(lineage)) throw new JournalError(`journal: lineage ${JSON.stringify(lineage)} is not a hex SHA-256`);
  const b = new Uint8Array(SEGMENT_HEADER_SIZE);
  const v = new DataView(b.buffer);
  b.set(SEGMENT_MAGIC, 0);
  v.setUint32(8, SEGMENT_VERSION, true);
  v.setUint32(12, SEGMENT_HEADER_SIZE, true);
  v.setBigUint64(16, BigInt(firstSeq), true);
  if (lineage !== null) b.set(Buffer.from(lineage, "hex"), 24);
  v.setUint32(SEGMENT_HEADER_SIZE - 4, crc32c(b, 0, SEGMENT_HEADER_SIZE - 4), true);
  return b;
}

/** Decodes a segment header of either version (its CRC32C checked), or a reason string. */
export function decodeSegmentHeader(b: Uint8Array): SegmentHeader | { problem: string } {
  if (b.length < 16) return { problem: `header truncated (${b.length} bytes)` };
  for (let i = 0; i < 8; i++) if (b[i] !== SEGMENT_MAGIC[i]) return { problem: "bad magic" };
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const version = v.getUint32(8, true);
  if (version !== 1 && version !== SEGMENT_VERSION) return { problem: `unsupported version ${version}` };
  const size = headerSizeOf(version);
  if (b.length < size) return { problem: `header truncated (${b.length} of ${size} bytes)` };
  if (v.getUint32(size - 4, true) !== crc32c(b, 0, size - 4)) return { problem: "header checksum mismatch" };
  if (v.getUint32(12, true) !== size) return { problem: "bad header size" };
  const first = v.getBigUint64(16, true);
  if (first > BigInt(Number.MAX_SAFE_INTEGER)) return { problem: "first sequence out of range" };
  const sha = version === 1 ? null : b.subarray(24, 56);
  const lineage = sha === null || sha.every((x) => x === 0) ? null : Buffer.from(sha).toString("hex");
  return { firstSeq: Number(first), version, headerSize: size, lineage };
}

/**
 * Writes one framed record into `out` at `at`; returns the bytes written. `view` is a DataView of
 * all of `out` (a batch passes one for all its records; made here otherwise).
 */
export function encodeRecordInto(out: Uint8Array, at: number, seq: number, durable: number, type: number, payload: Uint8Array, view?: DataView): number {
  const v = view ?? new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(at, payload.length, true);
  // Two u32 halves each (sequence numbers are safe integers): no BigInt per record.
  v.setUint32(at + 8, seq >>> 0, true);
  v.setUint32(at + 12, Math.floor(seq / 0x1_0000_0000), true);
  v.setUint32(at + 16, durable >>> 0, true);
  v.setUint32(at + 20, Math.floor(durable / 0x1_0000_0000), true);
  v.setUint8(at + 24, type);
  v.setUint8(at + 25, 0);
  v.setUint16(at + 26, 0, true);
  out.set(payload, at + RECORD_HEADER_SIZE);
  v.setUint32(at + 4, crc32c(out, at + 8, at + RECORD_HEADER_SIZE + payload.length), true);
  return RECORD_HEADER_SIZE + payload.length;
}

/** A run of records with consecutive sequence numbers from `seq`, all of one type (an append). */
export interface RecordRun {
  seq: number;
  type: number;
  payloads: Uint8Array[];
}

/** The framed records of `runs`, in order, in one buffer of `total` bytes (a group commit's one write). */
export function encodeBatch(runs: readonly RecordRun[], total: number, durable: number): Uint8Array {
  const ab = new ArrayBuffer(total);
  const buf = new Uint8Array(ab);
  const view = new DataView(ab);
  let at = 0;
  for (const r of runs) for (let i = 0; i < r.payloads.length; i++) at += encodeRecordInto(buf, at, r.seq + i, durable, r.type, r.payloads[i]!, view);
  return buf;
}

export function encodeRecord(seq: number, durable: number, type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_SIZE + payload.length);
  encodeRecordInto(out, 0, seq, durable, type, payload);
  return out;
}

export interface RawRecord {
  seq: number;
  durable: number;
  type: number;
  /** View into the segment bytes. */
  payload: Uint8Array;
  /** Byte offset of the record in its segment file. */
  offset: number;
  size: number;
}

/**
 * Decodes the record at `off` if it is complete and its checksum holds; otherwise a reason.
 * `whole` marks a record whose checksum holds but whose sequence fields are impossible: it was
 * written complete (by a bug, or tampered with), so it can never be a torn write.
 */
export function decodeRecordAt(b: Uint8Array, off: number): RawRecord | { problem: string; whole?: true } {
  if (b.length - off < RECORD_HEADER_SIZE) return { problem: `record header truncated (${b.length - off} bytes left)` };
  const v = new DataView(b.buffer, b.byteOffset + off, RECORD_HEADER_SIZE);
  const len = v.getUint32(0, true);
  if (len > MAX_PAYLOAD) return { problem: `implausible payload length ${len}` };
  if (off + RECORD_HEADER_SIZE + len > b.length) return { problem: `record truncated (needs ${RECORD_HEADER_SIZE + len} bytes, ${b.length - off} left)` };
  if (v.getUint32(4, true) !== crc32c(b, off + 8, off + RECORD_HEADER_SIZE + len)) return { problem: "checksum mismatch" };
  const seq = v.getBigUint64(8, true);
  const durable = v.getBigUint64(16, true);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER) || durable >= seq)
    return { problem: `record has a valid checksum but impossible sequence fields (sequence ${seq}, durable ${durable})`, whole: true };
  return {
    seq: Number(seq),
    durable: Number(durable),
    type: v.getUint8(24),
    payload: b.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + len),
    offset: off,
    size: RECORD_HEADER_SIZE + len,
  };
}
