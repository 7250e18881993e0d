// The model inside the executable: GGUF appended after the compiled program at a 64 KiB-aligned offset + a trailer.
//
// Layout of an executable with an embedded model (see docs/rts-format.md, "Embedded model"):
//   [compiled Bun program][zero padding][GGUF payload, offset % 65536 == 0][96-byte trailer]
// Trailer (little-endian, the last 96 bytes of the file):
//   0  u8[8]  magic "VBMODEL\0"          8  u32 version (1)        12 u32 trailer size (96)
//   16 u64    program size (bytes before the padding)
//   24 u64    payload offset             32 u64 payload size        40 u32 alignment (65536)
//   44 u32    checksum algorithm (1 = SHA-256)                       48 u8[32] SHA-256 of the payload
//   80 u32    CRC32C of the payload      84 u32 1 when bytes 80..84 hold it (0: an older build)
//   88 u8[4]  reserved, zero             92 u32 CRC-32 (IEEE) of trailer bytes 0..92
// Bun ignores bytes after the compiled program, so the executable still runs unchanged.
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { PackageError } from "../errors.ts";
import { refuseOutputOverInput, writeFileAtomically } from "../util/atomic-write.ts";
import { readPieces } from "../util/read-pieces.ts";
import { realPathOr } from "../util/real-path.ts";
import { bytesEqual, crc32, hex, sha256OfRange } from "./checksum.ts";
import { checkGgufFd } from "./check-gguf.ts";
import { crc32cUpdate } from "../journal/crc32c.ts";
import { elfImageEnd } from "../initramfs/elf.ts";

export const TRAILER_MAGIC = new Uint8Array([0x56, 0x42, 0x4d, 0x4f, 0x44, 0x45, 0x4c, 0x00]); // "VBMODEL\0"
export const TRAILER_VERSION = 1;
export const TRAILER_SIZE = 96;
/** 64 KiB like llamafile: page-aligned for 4 KiB and 64 KiB page kernels alike; costs < 64 KiB of padding. */
export const EMBED_ALIGNMENT = 65536;
export const CHECKSUM_SHA256 = 1;

export interface EmbeddedModel {
  /** File the trailer was read from (or "fd:N" for a descriptor given without a name). */
  path: string;
  fileSize: number;
  programSize: number;
  /** Absolute byte offset of the GGUF payload; a multiple of `alignment`. */
  offset: number;
  size: number;
  alignment: number;
  sha256: Uint8Array;
  /** CRC32C of the payload, the boot's fast check (5x SHA-256's speed); null in executables built before it was recorded. */
  crc32c: number | null;
  /** True when `verify` was asked and the payload's SHA-256 matched. */
  verified: boolean;
}

/** Copies `len` bytes; with `sums`, also hashes them (SHA-256) and updates `sums.crc` (CRC32C). */
function copyRange(src: number, dst: number, srcOff: number, len: number, dstOff: number, sums?: { sha: Bun.CryptoHasher; crc: number }): void {
  const done = readPieces(src, srcOff, len, (chunk, at) => {
    if (sums) {
      sums.sha.update(chunk);
      sums.crc = crc32cUpdate(sums.crc, chunk);
    }
    for (let w = 0; w < chunk.length; ) w += writeSync(dst, chunk, w, chunk.length - w, dstOff + at + w);
  });
  if (done < len) throw new PackageError("input", `short read at byte ${srcOff + done}`);
}

export function encodeTrailer(t: { programSize: number; offset: number; size: number; alignment: number; sha256: Uint8Array; crc32c: number | null }): Uint8Array {
  const b = new Uint8Array(TRAILER_SIZE);
  const v = new DataView(b.buffer);
  b.set(TRAILER_MAGIC, 0);
  v.setUint32(8, TRAILER_VERSION, true);
  v.setUint32(12, TRAILER_SIZE, true);
  v.setBigUint64(16, BigInt(t.programSize), true);
  v.setBigUint64(24, BigInt(t.offset), true);
  v.setBigUint64(32, BigInt(t.size), true);
  v.setUint32(40, t.alignment, true);
  v.setUint32(44, CHECKSUM_SHA256, true);
  b.set(t.sha256, 48);
  if (t.crc32c !== null) {
    v.setUint32(80, t.crc32c >>> 0, true);
    v.setUint32(84, 1, true);
  }
  v.setUint32(92, crc32(b.subarray(0, 92)), true);
  return b;
}

/**
 * Writes `outPath` = exe + zero padding to the next 64 KiB boundary + the GGUF + trailer, through a
 * temporary file (fsynced, renamed). An `exePath` that already carries a model is refused (append to
 * the bare program), and so is an `outPath` that is one of the inputs: opened for writing first, it
 * was emptied before it was read (appending in place left the model alone, the program gone), and a
 * GGUF refused afterwards left an existing output empty.
 */
export async function appendModel(exePath: string, ggufPath: string, outPath: string): Promise<{ offset: number; size: number }> {
  if (locateEmbeddedModel(exePath) !== null) throw new PackageError("exe", `${exePath} already has an embedded model; append to the bare executable`);
  refuseOutputOverInput(outPath, [
    { path: exePath, what: "the executable to append to" },
    { path: ggufPath, what: "the GGUF to append" },
  ]);
  const exeFd = openSync(exePath, "r");
  const ggufFd = openSync(ggufPath, "r");
  try {
    const programSize = fstatSync(exeFd).size;
    const size = fstatSync(ggufFd).size;
    checkGgufFd(ggufPath, ggufFd, size, "embedded");
    const offset = Math.ceil(programSize / EMBED_ALIGNMENT) * EMBED_ALIGNMENT;
    writeFileAtomically(
      outPath,
      (outFd) => {
        copyRange(exeFd, outFd, 0, programSize, 0);
        const pad = offset - programSize;
        if (pad > 0) writeSync(outFd, new Uint8Array(pad), 0, pad, programSize);
        const sums = { sha: new Bun.CryptoHasher("sha256"), crc: 0 };
        copyRange(ggufFd, outFd, 0, size, offset, sums);
        const sha = new Uint8Array(sums.sha.digest() as unknown as ArrayBuffer);
        writeSync(outFd, encodeTrailer({ programSize, offset, size, alignment: EMBED_ALIGNMENT, sha256: sha, crc32c: sums.crc }), 0, TRAILER_SIZE, offset + size);
      },
      0o755,
    );
    return { offset, size };
  } finally {
    closeSync(ggufFd);
    closeSync(exeFd);
  }
}

/** What shows that a file lost its end: the evidence, and the size it should have had (`atLeast`: a lower bound). */
interface CutEvidence {
  evidence: string;
  expected: number | null;
  atLeast?: boolean;
}

const GGUF_MAGIC = new TextEncoder().encode("GGUF");
/** A GGUF's fixed header: magic, version, tensor count, key/value count. */
const GGUF_HEADER_SIZE = 24;

/**
 * For a file whose last bytes are not a trailer: the evidence that a model was appended and the file
 * lost its end (a copy cut short), or null when there is none (an executable built without a model).
 * Exact checks, a few KiB read (the tail, the ELF header tables, at most the 64 KiB after the image);
 * never for a file that starts with the GGUF magic (a model, whose weights may hold any bytes):
 * - the trailer's magic within the last 96 bytes (the file lost the rest of the trailer: its expected size follows);
 * - an ELF whose headers reach past the end of the file (cut inside the program);
 * - after the ELF image, the zero padding appendModel writes up to the next 64 KiB boundary and then
 *   the GGUF magic there, or a prefix of both that runs to the end of the file (cut inside the model,
 *   the trailer, the magic or the padding).
 * Not caught: a cut exactly at the end of the ELF image (that file is the bare program), and a
 * non-ELF program cut by more than 88 bytes (nothing in it says where its program ends).
 */
function lostTrailer(fd: number, fileSize: number, tail: Uint8Array): CutEvidence | null {
  // A GGUF is a model, not a program: its weights may hold the trailer's magic near its end
  // (`verify` of a well-formed GGUF called it a truncated executable, 65).
  const head = new Uint8Array(Math.min(fileSize, GGUF_MAGIC.length));
  if (readSync(fd, head, 0, head.length, 0) === GGUF_MAGIC.length && bytesEqual(head, GGUF_MAGIC)) return null;
  for (let cut = 1; tail.length === TRAILER_SIZE && cut <= TRAILER_SIZE - TRAILER_MAGIC.length; cut++) {
    if (bytesEqual(tail.subarray(cut, cut + TRAILER_MAGIC.length), TRAILER_MAGIC)) {
      return { evidence: `the embedded model's ${TRAILER_SIZE}-byte trailer starts at byte ${fileSize - TRAILER_SIZE + cut} and ${cut === 1 ? "its last byte is" : `its last ${cut} bytes are`} missing`, expected: fileSize + cut };
    }
  }
  const programEnd = elfImageEnd(fd, fileSize);
  if (programEnd === null || programEnd === fileSize) return null;
  if (programEnd > fileSize) return { evidence: `its ELF headers say the program alone takes ${programEnd} bytes`, expected: programEnd, atLeast: true };
  const at = Math.ceil(programEnd / EMBED_ALIGNMENT) * EMBED_ALIGNMENT;
  const appended = `a model is appended at byte ${at}, the first 64 KiB boundary after the ${programEnd}-byte program`;
  const rest = new Uint8Array(Math.min(fileSize, at + GGUF_MAGIC.length) - programEnd);
  if (readSync(fd, rest, 0, rest.length, programEnd) !== rest.length) return null;
  const padding = rest.subarray(0, at - programEnd);
  const magic = rest.subarray(at - programEnd);
  if (padding.some((b) => b !== 0) || !bytesEqual(magic, GGUF_MAGIC.subarray(0, magic.length))) return null;
  if (at + GGUF_MAGIC.length <= fileSize) return { evidence: `${appended} (its GGUF magic is there) but the ${TRAILER_SIZE}-byte trailer that ends such an executable is missing`, expected: null };
  const left = magic.length === 0 ? `${padding.length} bytes of its zero padding` : `its zero padding and ${magic.length} of the 4 bytes of its GGUF magic`;
  return { evidence: `${appended}: the file ends after ${left}`, expected: at + GGUF_HEADER_SIZE + TRAILER_SIZE, atLeast: true };
}

/**
 * Reads only the trailer of an executable (default: the running one) and checks every range against the file size.
 * Returns null when the file carries no trailer (e.g. the plain `bun` binary); throws PackageError naming the field
 * when a trailer is present but inconsistent, or when `verify` is set and the payload's SHA-256 does not match, and
 * PackageError "trailer" when there is none but the file shows a model was appended (a copy cut short: lostTrailer).
 */
export function locateEmbeddedModel(fdOrPath: number | string = "/proc/self/exe", opts: { verify?: boolean; name?: string } = {}): EmbeddedModel | null {
  const ownFd = typeof fdOrPath === "string";
  const fd = ownFd ? openSync(fdOrPath, "r") : fdOrPath;
  // `name`: the file a descriptor was opened from, for the messages.
  const path = ownFd ? fdOrPath : (opts.name ?? `fd:${fdOrPath}`);
  try {
    const fileSize = fstatSync(fd).size;
    const b = new Uint8Array(Math.min(fileSize, TRAILER_SIZE));
    if (readSync(fd, b, 0, b.length, fileSize - b.length) !== b.length) throw new PackageError("trailer", `short read of the trailer of ${path}`);
    // In messages, the file itself (not /proc/self/exe, which is every executable's name for itself).
    const fileName = (): string => (ownFd || opts.name !== undefined ? realPathOr(path) : path);
    if (b.length < TRAILER_SIZE || !bytesEqual(b.subarray(0, 8), TRAILER_MAGIC)) {
      const lost = lostTrailer(fd, fileSize, b);
      if (lost === null) return null;
      const name = fileName();
      const expected = lost.expected === null ? "" : `, ${lost.atLeast ? "at least " : ""}${lost.expected} expected`;
      throw new PackageError("trailer", `${name} is truncated or damaged (${fileSize} bytes${expected}): ${lost.evidence}; copy or build the executable again`);
    }
    const v = new DataView(b.buffer);
    const fail = (field: string, problem: string): never => {
      throw new PackageError(`trailer.${field}`, `${problem} (in ${fileName()}, ${fileSize} bytes)`);
    };
    const crcStored = v.getUint32(92, true);
    const crcActual = crc32(b.subarray(0, 92));
    if (crcStored !== crcActual) fail("crc32", `stored 0x${crcStored.toString(16)} but the trailer hashes to 0x${crcActual.toString(16)}`);
    const version = v.getUint32(8, true);
    if (version !== TRAILER_VERSION) fail("version", `unsupported version ${version} (expected ${TRAILER_VERSION})`);
    if (v.getUint32(12, true) !== TRAILER_SIZE) fail("size", `trailer size ${v.getUint32(12, true)} (expected ${TRAILER_SIZE})`);
    const u64 = (at: number, field: string): number => {
      const x = v.getBigUint64(at, true);
      if (x > BigInt(fileSize)) fail(field, `${x} is past the end of the file`);
      return Number(x);
    };
    const programSize = u64(16, "programSize");
    const offset = u64(24, "offset");
    const size = u64(32, "payloadSize");
    const alignment = v.getUint32(40, true);
    if (alignment < 4096 || (alignment & (alignment - 1)) !== 0) fail("alignment", `${alignment} is not a power of two >= 4096`);
    if (offset % alignment !== 0) fail("offset", `${offset} is not a multiple of the alignment ${alignment}`);
    if (programSize > offset || offset - programSize >= alignment) fail("programSize", `${programSize} is inconsistent with payload offset ${offset}`);
    if (offset + size !== fileSize - TRAILER_SIZE) fail("payloadSize", `payload [${offset}, ${offset + size}) does not end where the trailer starts (${fileSize - TRAILER_SIZE})`);
    // appendModel refuses an empty GGUF: a trailer recording none is damaged (mapping 0 bytes failed as EINVAL, exit 71).
    if (size === 0) fail("payloadSize", "the payload is empty: no model follows the program");
    if (v.getUint32(88, true) !== 0) fail("reserved", `bytes 88..92 hold 0x${v.getUint32(88, true).toString(16)}, not zero`);
    if (v.getUint32(44, true) !== CHECKSUM_SHA256) fail("checksumAlgorithm", `unknown algorithm ${v.getUint32(44, true)}`);
    const sha = b.slice(48, 80);
    const hasCrc = v.getUint32(84, true);
    if (hasCrc > 1) fail("crc32cPresent", `${hasCrc} is neither 0 nor 1`);
    if (hasCrc === 0 && v.getUint32(80, true) !== 0) fail("crc32c", `bytes 80..84 hold 0x${v.getUint32(80, true).toString(16)} with no CRC32C recorded (byte 84 is 0): not zero`);
    const crc = hasCrc === 1 ? v.getUint32(80, true) : null;
    let verified = false;
    if (opts.verify) {
      const actual = sha256OfRange(fd, offset, size);
      if (!bytesEqual(actual, sha)) fail("sha256", `payload hashes to ${hex(actual)}, trailer says ${hex(sha)}`);
      verified = true;
    }
    return { path, fileSize, programSize, offset, size, alignment, sha256: sha, crc32c: crc, verified };
  } finally {
    if (ownFd) closeSync(fd);
  }
}
