// A GGUF about to be packed (RTS) or embedded (the executable's trailer): checked from the open file, as the boot will parse it.
import { GgufError, PackageError } from "../errors.ts";
import { readGguf } from "../gguf/reader.ts";
import { mapFileReadOnly, MAX_MAP_BYTES } from "../sys/mmap.ts";
import { readSync } from "node:fs";

/**
 * Refuses an empty file, a file without the GGUF magic and one malformed past it (every count, offset
 * and size, as `verify` and the boot parse it), from a read-only mapping of the open descriptor `fd`:
 * a GGUF cut short (a download that stopped) was packed or embedded, exit 0, and only verify or the
 * boot refused it (exit 2). The open file, not the name: a GGUF renamed over the path after the open
 * was checked while the malformed one opened first was copied. A GGUF over 4 GiB, which no mapping
 * here can hold, passes unparsed (this runtime cannot boot it; a package may still carry it).
 * `done`: what the messages say was not done ("packed", "embedded").
 */
export function checkGgufFd(path: string, fd: number, size: number, done: string): void {
  if (size === 0) throw new PackageError("gguf", `${path} is empty`);
  const magic = new Uint8Array(4);
  readSync(fd, magic, 0, 4, 0);
  if (String.fromCharCode(...magic) !== "GGUF") throw new PackageError("gguf", `${path} does not start with the GGUF magic`);
  if (size > MAX_MAP_BYTES) return;
  const m = mapFileReadOnly(`/proc/self/fd/${fd}`, 0, size);
  try {
    readGguf(m.bytes);
  } catch (e) {
    if (e instanceof GgufError) throw new GgufError(e.field, e.offset, `${e.problem} (in ${path}: not a well-formed GGUF, nothing ${done})`, { cause: e });
    throw e;
  } finally {
    m.unmap();
  }
}
