// Encodes and decodes channel slots. The consumer decodes only private copies, never the shared bytes.
import { channelCrc, CMP_SLOT_SIZE, CMP_TEXT_BYTES, K, MAX_NAME_BYTES, MAX_VALUES, S, SLOT_KIND_MUTATION, SUB_SLOT_SIZE, VALUE_TYPE_F32 } from "./layout.ts";
import { Status } from "./reasons.ts";
import { nameText } from "./tensor-name.ts";
import { viewOf } from "../util/data-view.ts";

export interface Mutation {
  tensor: string;
  elementOffset: number;
  values: Float32Array;
  confidence: number;
}

export interface Submission extends Mutation {
  /** Position of the slot in its ring since the ring was assigned (0, 1, 2, ...). */
  seq: bigint;
  /** Opaque client value echoed in the completion. */
  tag: bigint;
}

export interface Rejection {
  status: Status;
  text: string;
  seq: bigint;
  tag: bigint;
}

/** The slot CRC covers bytes [4, 112 + 4 * min(count, MAX_VALUES)): the header, name and the values in use. */
export const submissionCrcEnd = (count: number): number => S.values + 4 * Math.min(count, MAX_VALUES);

const enc = new TextEncoder();

/** Decodes a submission slot copy. Structural checks only (the CTRM gate judges the content). */
export function decodeSubmission(copy: Uint8Array, expectedSeq: bigint): Submission | Rejection {
  const v = viewOf(copy);
  const seq = v.getBigUint64(S.seq, true);
  const tag = v.getBigUint64(S.tag, true);
  const rej = (status: Status, text: string): Rejection => ({ status, text, seq, tag });
  if (v.getUint32(S.crc, true) !== channelCrc(copy, 4, submissionCrcEnd(v.getUint16(S.valueCount, true)))) {
    return rej(Status.badChecksum, "slot checksum mismatch");
  }
  if (v.getUint32(S.kind, true) !== SLOT_KIND_MUTATION) return rej(Status.badKind, `unknown kind ${v.getUint32(S.kind, true)}`);
  if (seq !== expectedSeq) return rej(Status.badSequence, `seq ${seq} expected ${expectedSeq}`);
  const nameLen = v.getUint16(S.nameLen, true);
  const count = v.getUint16(S.valueCount, true);
  if (nameLen === 0 || nameLen > MAX_NAME_BYTES) return rej(Status.badLength, `name length ${nameLen}`);
  if (count === 0 || count > MAX_VALUES) return rej(Status.badLength, `value count ${count}`);
  if (v.getUint8(S.valueType) !== VALUE_TYPE_F32) return rej(Status.unsupportedDtype, `value type ${v.getUint8(S.valueType)}`);
  const tensor = nameText(copy, S.name, nameLen);
  if (tensor === null) return rej(Status.badName, "tensor name is not UTF-8");
  const off = v.getBigUint64(S.elementOffset, true);
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) return rej(Status.outOfRange, `element offset ${off}`);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = v.getFloat32(S.values + 4 * i, true);
  return { seq, tag, tensor, elementOffset: Number(off), values, confidence: v.getFloat64(S.confidence, true) };
}

/** Encodes a submission slot (clients and tests; the Python client does the same in python/). */
export function encodeSubmission(out: Uint8Array, s: Submission): void {
  out.fill(0, 0, SUB_SLOT_SIZE);
  const v = new DataView(out.buffer, out.byteOffset, SUB_SLOT_SIZE);
  const name = enc.encode(s.tensor);
  v.setUint32(S.kind, SLOT_KIND_MUTATION, true);
  v.setBigUint64(S.seq, s.seq, true);
  v.setBigUint64(S.tag, s.tag, true);
  v.setBigUint64(S.elementOffset, BigInt(s.elementOffset), true);
  v.setFloat64(S.confidence, s.confidence, true);
  v.setUint16(S.nameLen, name.length, true);
  v.setUint16(S.valueCount, s.values.length, true);
  v.setUint8(S.valueType, VALUE_TYPE_F32);
  out.set(name.subarray(0, MAX_NAME_BYTES), S.name);
  for (let i = 0; i < Math.min(s.values.length, MAX_VALUES); i++) v.setFloat32(S.values + 4 * i, s.values[i]!, true);
  v.setUint32(S.crc, channelCrc(out, 4, submissionCrcEnd(s.values.length)), true);
}

export interface Completion {
  status: number;
  seq: bigint;
  tag: bigint;
  journalSeq: bigint;
  text: string;
}

export function encodeCompletion(out: Uint8Array, c: Completion): void {
  out.fill(0, 0, CMP_SLOT_SIZE);
  const v = viewOf(out);
  v.setUint16(K.status, c.status, true);
  v.setBigUint64(K.seq, c.seq, true);
  v.setBigUint64(K.tag, c.tag, true);
  v.setBigUint64(K.journalSeq, c.journalSeq, true);
  if (c.text !== "") out.set(enc.encode(c.text.replace(/[^\x20-\x7e]/g, "?")).subarray(0, CMP_TEXT_BYTES), K.text);
  v.setUint32(K.crc, channelCrc(out, 4, CMP_SLOT_SIZE), true);
}

export function decodeCompletion(b: Uint8Array): Completion | null {
  const v = new DataView(b.buffer, b.byteOffset, CMP_SLOT_SIZE);
  if (v.getUint32(K.crc, true) !== channelCrc(b, 4, CMP_SLOT_SIZE)) return null;
  let end = K.text;
  while (end < CMP_SLOT_SIZE && b[end] !== 0) end++;
  return {
    status: v.getUint16(K.status, true),
    seq: v.getBigUint64(K.seq, true),
    tag: v.getBigUint64(K.tag, true),
    journalSeq: v.getBigUint64(K.journalSeq, true),
    text: new TextDecoder().decode(b.subarray(K.text, end)),
  };
}
