// Shared-memory layout of the evolution channel (version 2); docs/evolution-protocol.md is the contract.

/**
 * Version 2: every checksum of the channel (header, submission and completion slots) is CRC-32
 * (IEEE 802.3, zlib's `crc32`: Python's standard library computes it in C); version 1 used CRC32C.
 * The journal on disk keeps CRC32C.
 */
export const PROTOCOL_VERSION = 2;

/** The last range checksummed in each buffer: the drain checks the same scratch slots over and over. */
const ranges = new WeakMap<Uint8Array, { start: number; end: number; view: Uint8Array }>();

/** The channel checksum: CRC-32 (zlib) of bytes [start, end). */
export function channelCrc(bytes: Uint8Array, start: number, end: number): number {
  let r = ranges.get(bytes);
  if (r === undefined || r.start !== start || r.end !== end) {
    r = { start, end, view: bytes.subarray(start, end) };
    ranges.set(bytes, r);
  }
  return Bun.hash.crc32(r.view) >>> 0;
}
/** "VBEV" read as a little-endian u32. */
export const HEADER_MAGIC = 0x56454256;
export const HEADER_SIZE = 4096;
export const CONTROL_SIZE = 256;
export const SUB_SLOT_SIZE = 512;
export const CMP_SLOT_SIZE = 64;
export const MAX_NAME_BYTES = 64;
export const MAX_VALUES = 100;

/** Header field byte offsets (u32 each). */
export const H = {
  magic: 0, version: 4, headerSize: 8, ringCount: 12, ringStride: 16, subSlots: 20, subSlotSize: 24,
  cmpSlots: 28, cmpSlotSize: 32, maxValues: 36, maxNameBytes: 40, consumerPid: 44, crc: 48,
} as const;

/** Ring control block: byte offsets of the u32 counters (each on its own 64-byte line). */
export const C = {
  /** Producer writes: submissions published (monotonic, wraps at 2^32). */
  subTail: 0,
  /** Consumer writes: submissions consumed. */
  subHead: 64,
  /** Consumer writes: generation, incremented each time the ring is given to a new session. */
  generation: 68,
  /** Consumer writes: completions published. */
  cmpTail: 128,
  /** Producer writes: completions consumed. */
  cmpHead: 192,
} as const;

/** Submission slot field offsets. */
export const S = {
  crc: 0, kind: 4, seq: 8, tag: 16, elementOffset: 24, confidence: 32, nameLen: 40, valueCount: 42,
  valueType: 44, name: 48, values: 112,
} as const;
export const SLOT_KIND_MUTATION = 1;
export const VALUE_TYPE_F32 = 0;

/** Completion slot field offsets. */
export const K = { crc: 0, status: 4, seq: 8, tag: 16, journalSeq: 24, text: 32 } as const;
export const CMP_TEXT_BYTES = 32;

export interface Geometry {
  rings: number;
  /** Power of two. */
  slots: number;
}

export function ringStride(g: Geometry): number {
  const raw = CONTROL_SIZE + g.slots * SUB_SLOT_SIZE + g.slots * CMP_SLOT_SIZE;
  return Math.ceil(raw / 4096) * 4096;
}

export function regionSize(g: Geometry): number {
  return HEADER_SIZE + g.rings * ringStride(g);
}

export function ringOffset(g: Geometry, ring: number): number {
  return HEADER_SIZE + ring * ringStride(g);
}
export const subSlotOffset = (g: Geometry, ring: number, index: number): number =>
  ringOffset(g, ring) + CONTROL_SIZE + (index & (g.slots - 1)) * SUB_SLOT_SIZE;
export const cmpSlotOffset = (g: Geometry, ring: number, index: number): number =>
  ringOffset(g, ring) + CONTROL_SIZE + g.slots * SUB_SLOT_SIZE + (index & (g.slots - 1)) * CMP_SLOT_SIZE;

/** Writes the header (then its CRC-32 over bytes [0, 48)). */
export function writeHeader(bytes: Uint8Array, g: Geometry, pid: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const put = (off: number, x: number) => v.setUint32(off, x, true);
  put(H.magic, HEADER_MAGIC);
  put(H.version, PROTOCOL_VERSION);
  put(H.headerSize, HEADER_SIZE);
  put(H.ringCount, g.rings);
  put(H.ringStride, ringStride(g));
  put(H.subSlots, g.slots);
  put(H.subSlotSize, SUB_SLOT_SIZE);
  put(H.cmpSlots, g.slots);
  put(H.cmpSlotSize, CMP_SLOT_SIZE);
  put(H.maxValues, MAX_VALUES);
  put(H.maxNameBytes, MAX_NAME_BYTES);
  put(H.consumerPid, pid);
  put(H.crc, channelCrc(bytes, 0, H.crc));
}
