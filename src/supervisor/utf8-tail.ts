// The bytes at the end of a UTF-8 stream that start a character not yet complete (what a streaming TextDecoder holds back).

/**
 * The unfinished character at the end of `held` followed by `chunk` (0 to 3 bytes): kept by the
 * decoder until its next bytes come, and handed over with the pipe at a live re-exec.
 */
export function unfinishedUtf8(held: readonly number[], chunk: Uint8Array): number[] {
  const tail = chunk.length >= 3 ? Array.from(chunk.subarray(chunk.length - 3)) : [...held, ...chunk].slice(-3);
  for (let i = tail.length - 1; i >= 0; i--) {
    const b = tail[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    if (b < 0xc2 || b > 0xf4) return []; // ASCII or a byte that starts no character
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return tail.length - i < need ? tail.slice(i) : [];
  }
  return [];
}
