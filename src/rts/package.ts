// RTS packages on disk: pack a binary + GGUF, read and check a header, verify checksums, unpack the sections.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { PackageError } from "../errors.ts";
import { throwIfInterrupted } from "../sys/interrupt.ts";
import { checkOutputPath, refuseOutputOverInput, writeFileAtomically, writeFilesAtomically, type OutputFile } from "../util/atomic-write.ts";
import { readPieces } from "../util/read-pieces.ts";
import { bytesEqual, hex, sha256OfRange } from "./checksum.ts";
import { checkGgufFd } from "./check-gguf.ts";
import { decodeRtsHeader, encodeRtsHeader, RTS_HEADER_SIZE, RTS_TENSOR_ALIGNMENT, type RtsHeader } from "./format.ts";

export interface PackOptions {
  /** Write the seed's layout (tensor right after the binary, no checksums). For compatibility tests. */
  seedLayout?: boolean;
}

/** Opens a packaging file read-only (PackageError "file" naming it when it cannot be opened) and runs `fn` with the descriptor. */
export function withPackageFd<T>(path: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    throw new PackageError("file", `cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Copies `len` bytes and returns their SHA-256: each byte is read once, so the hash is of the bytes written. */
function copyHashing(src: number, srcOff: number, len: number, dst: number, dstOff: number, what: string): Uint8Array {
  const hasher = new Bun.CryptoHasher("sha256");
  throwIfInterrupted();
  const done = readPieces(src, srcOff, len, (piece, at) => {
    hasher.update(piece);
    for (let w = 0; w < piece.length; ) w += writeSync(dst, piece, w, piece.length - w, dstOff + at + w);
    if (at + piece.length < len) throwIfInterrupted(); // before each read
  });
  if (done < len) throw new PackageError(what, `short read at byte ${srcOff + done}`);
  return new Uint8Array(hasher.digest() as unknown as ArrayBuffer);
}

type Section = "binary" | "tensor";

/** A section's bytes against the header's SHA-256 (PackageError `binary.sha256` / `tensor.sha256` on a mismatch). */
function checkSection(section: Section, got: Uint8Array, header: RtsHeader, path: string): void {
  const want = section === "binary" ? header.checksums!.binarySha256 : header.checksums!.tensorSha256;
  if (!bytesEqual(got, want)) throw new PackageError(`${section}.sha256`, `${section} section hashes to ${hex(got)}, header says ${hex(want)} (${path})`);
}

const rangeOf = (h: RtsHeader, section: Section): [number, number] => (section === "binary" ? [h.binaryOffset, h.binarySize] : [h.tensorOffset, h.tensorSize]);

/** The end of a fill: its data on disk, then the last look for a stop signal before the rename (the fsync of a large file takes seconds). */
function settle(fd: number): void {
  fsyncSync(fd);
  throwIfInterrupted();
}

/** Packs `binary` and `gguf` into an RTS file: binary at 512, tensor section 4096-aligned, SHA-256 of both in the header. */
export function packRts(binaryPath: string, ggufPath: string, outPath: string, opts: PackOptions = {}): RtsHeader {
  checkOutputPath(outPath);
  refuseOutputOverInput(outPath, [
    { path: binaryPath, what: "the binary to pack" },
    { path: ggufPath, what: "the GGUF to pack" },
  ]);
  return withPackageFd(binaryPath, (bFd) =>
    withPackageFd(ggufPath, (gFd) => {
      const binarySize = fstatSync(bFd).size;
      const tensorSize = fstatSync(gFd).size;
      checkGgufFd(ggufPath, gFd, tensorSize, "packed");
      const binaryOffset = RTS_HEADER_SIZE;
      const tensorOffset = opts.seedLayout
        ? binaryOffset + binarySize
        : Math.ceil((binaryOffset + binarySize) / RTS_TENSOR_ALIGNMENT) * RTS_TENSOR_ALIGNMENT;
      // Hashed while copied, the header (with the hashes) written last: an input that changed between a
      // hashing pass and a copying pass gave a package whose checksums did not match its bytes.
      let checksums: RtsHeader["checksums"] = null;
      writeFileAtomically(outPath, (oFd) => {
        const binarySha256 = copyHashing(bFd, 0, binarySize, oFd, binaryOffset, "binary");
        const gap = tensorOffset - (binaryOffset + binarySize);
        if (gap > 0) writeSync(oFd, new Uint8Array(gap), 0, gap, binaryOffset + binarySize);
        const tensorSha256 = copyHashing(gFd, 0, tensorSize, oFd, tensorOffset, "gguf");
        checksums = opts.seedLayout ? null : { binarySha256, tensorSha256 };
        const header = encodeRtsHeader({ binaryOffset, binarySize, tensorOffset, tensorSize, checksums });
        writeSync(oFd, header, 0, header.length, 0);
        settle(oFd);
      });
      return { version: 1, binaryOffset, binarySize, tensorOffset, tensorSize, checksums };
    }),
  );
}

/** Reads and validates the header of an open RTS file (every range checked against the file size). */
export function readRtsHeaderFd(fd: number, where: string): RtsHeader {
  const fileSize = fstatSync(fd).size;
  const head = new Uint8Array(RTS_HEADER_SIZE);
  const n = fileSize > 0 ? readSync(fd, head, 0, Math.min(RTS_HEADER_SIZE, fileSize), 0) : 0;
  return decodeRtsHeader(head.subarray(0, n), fileSize, where);
}

export function readRtsHeader(path: string): RtsHeader & { fileSize: number } {
  return withPackageFd(path, (fd) => ({ ...readRtsHeaderFd(fd, path), fileSize: fstatSync(fd).size }));
}

export type SectionStatus = "ok" | "unchecked";
export interface VerifyReport {
  header: RtsHeader;
  fileSize: number;
  binary: SectionStatus;
  tensor: SectionStatus;
  /** Bytes of the file covered by neither the header nor a section (alignment padding, trailing data). */
  unaccounted: number;
}

/** Checks the header and, when the header carries them, the SHA-256 of both sections. Throws PackageError on a mismatch. */
export function verifyRts(path: string): VerifyReport {
  return withPackageFd(path, (fd) => verifyRtsFd(fd, path));
}

/** verifyRts through an open descriptor of the package (`where` names it in messages). */
export function verifyRtsFd(fd: number, where: string): VerifyReport {
  const fileSize = fstatSync(fd).size;
  const header = readRtsHeaderFd(fd, where);
  let binary: SectionStatus = "unchecked";
  let tensor: SectionStatus = "unchecked";
  if (header.checksums) {
    checkSection("binary", sha256OfRange(fd, header.binaryOffset, header.binarySize), header, where);
    binary = "ok";
    checkSection("tensor", sha256OfRange(fd, header.tensorOffset, header.tensorSize), header, where);
    tensor = "ok";
  }
  const unaccounted = fileSize - RTS_HEADER_SIZE - header.binarySize - header.tensorSize;
  return { header, fileSize, binary, tensor, unaccounted };
}

/**
 * Extracts the sections, both or neither; either output may be omitted. Everything comes through one
 * descriptor: a section written out is hashed as it is copied and checked before any output is renamed
 * into place, one not written out is hashed first. (The checksums were verified through one open and
 * the sections copied through a second: a package replaced in between was written out unverified.)
 */
export function unpackRts(path: string, out: { binary?: string; gguf?: string }): VerifyReport {
  // Before the hashing: an output that cannot be written, or that is the package itself, is refused first.
  for (const o of [out.binary, out.gguf]) {
    if (o === undefined) continue;
    checkOutputPath(o);
    refuseOutputOverInput(o, [{ path, what: "the package being unpacked" }]);
  }
  return withPackageFd(path, (fd) => {
    const fileSize = fstatSync(fd).size;
    const h = readRtsHeaderFd(fd, path);
    const checked = h.checksums !== null;
    const targets: Array<[Section, string | undefined, number]> = [["binary", out.binary, 0o755], ["tensor", out.gguf, 0o644]];
    for (const [section, to] of targets) {
      if (checked && to === undefined) checkSection(section, sha256OfRange(fd, ...rangeOf(h, section)), h, path);
    }
    const files: OutputFile[] = [];
    for (const [section, to, mode] of targets) {
      if (to === undefined) continue;
      const fill = (o: number) => {
        const [off, len] = rangeOf(h, section);
        const got = copyHashing(fd, off, len, o, 0, section);
        if (checked) checkSection(section, got, h, path);
        settle(o);
      };
      files.push({ out: to, fill, mode });
    }
    writeFilesAtomically(files);
    const status: SectionStatus = checked ? "ok" : "unchecked";
    return { header: h, fileSize, binary: status, tensor: status, unaccounted: fileSize - RTS_HEADER_SIZE - h.binarySize - h.tensorSize };
  });
}
