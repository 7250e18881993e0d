// Reads a byte range of an open file in pieces (never the whole range in memory), handing each to a callback.
import { readSync } from "node:fs";

/** The size of a piece: large enough that a read costs little per byte, small beside any model. */
export const PIECE_BYTES = 4 << 20;

/**
 * Reads `length` bytes of `fd` from `offset` in pieces of at most PIECE_BYTES (one buffer, reused:
 * a piece is valid only during its call), calling `each(piece, at)` with `at` the bytes before it.
 * Returns the bytes read: less than `length` when the file ended first (the caller says what that means).
 */
export function readPieces(fd: number, offset: number, length: number, each: (piece: Uint8Array, at: number) => void): number {
  const buf = new Uint8Array(Math.min(PIECE_BYTES, Math.max(length, 1)));
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
    if (n <= 0) break;
    each(buf.subarray(0, n), done);
    done += n;
  }
  return done;
}
