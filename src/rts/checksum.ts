// Checksums for packaging: SHA-256 of file ranges (streamed, never the whole file in memory) and CRC32.
import { closeSync, fstatSync, openSync } from "node:fs";
import { PackageError } from "../errors.ts";
import { throwIfInterrupted } from "../sys/interrupt.ts";
import { readPieces } from "../util/read-pieces.ts";

/** SHA-256 of `length` bytes of an open file starting at `offset`, read in 4 MiB chunks. Throws on a short read. */
export function sha256OfRange(fd: number, offset: number, length: number): Uint8Array {
  const hasher = new Bun.CryptoHasher("sha256");
  throwIfInterrupted();
  const done = readPieces(fd, offset, length, (piece, at) => {
    hasher.update(piece);
    if (at + piece.length < length) throwIfInterrupted(); // before each read
  });
  // The file shrank while it was read (it was checked for size first): the package is damaged, not a bug.
  if (done < length) throw new PackageError("checksum", `short read at byte ${offset + done} (wanted ${length - done} more bytes): the file was truncated while it was read`);
  return new Uint8Array(hasher.digest() as unknown as ArrayBuffer);
}

/** SHA-256 of a whole file by path. */
export function sha256OfFile(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    return sha256OfRange(fd, 0, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 of bytes in memory. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(bytes).digest() as unknown as ArrayBuffer);
}

/** CRC-32 (IEEE 802.3, the zlib/gzip polynomial) of bytes in memory. */
export function crc32(bytes: Uint8Array): number {
  return Bun.hash.crc32(bytes) >>> 0;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
