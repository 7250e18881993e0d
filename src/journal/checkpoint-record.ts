// Journal payload of a checkpoint record (type 2): which file covers which sequence, with its size and CRC32C.
import { JournalError } from "../errors.ts";

export interface CheckpointRecord {
  /** Every mutation record with sequence <= coveredSeq is inside the checkpoint file. */
  coveredSeq: number;
  /** File name inside the checkpoint directory. */
  file: string;
  size: number;
  crc: number;
}

/** Layout: u64 coveredSeq, u64 size, u32 crc32c of the whole file, u16 name length, name bytes. */
export function encodeCheckpointRecord(c: CheckpointRecord): Uint8Array {
  const name = new TextEncoder().encode(c.file);
  const p = new Uint8Array(22 + name.length);
  const v = new DataView(p.buffer);
  v.setBigUint64(0, BigInt(c.coveredSeq), true);
  v.setBigUint64(8, BigInt(c.size), true);
  v.setUint32(16, c.crc, true);
  v.setUint16(20, name.length, true);
  p.set(name, 22);
  return p;
}

export function decodeCheckpointRecord(p: Uint8Array): CheckpointRecord {
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  if (p.length < 22 || p.length !== 22 + v.getUint16(20, true)) throw new JournalError(`checkpoint record malformed (${p.length} bytes)`);
  return {
    coveredSeq: Number(v.getBigUint64(0, true)),
    size: Number(v.getBigUint64(8, true)),
    crc: v.getUint32(16, true),
    file: new TextDecoder().decode(p.subarray(22)),
  };
}
