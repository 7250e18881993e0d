// File descriptors: close (checked or quiet), a read that never waits, and the working directory held as a descriptor.
import { Errno } from "./errno.ts";
import { check } from "./lib.ts";
import { native } from "./native.ts";

/** close(2); throws SysError (EBADF, EIO...). */
export function closeFd(fd: number): void {
  check(native.vb_close(fd), "close", `fd ${fd}`);
}

/** close(2) for clean-up paths, where a failure changes nothing. */
export function closeFdQuietly(fd: number): void {
  native.vb_close(fd);
}

/** Bytes read from nonblocking `fd` into `buf` (> 0), 0 at end of file, null when nothing waits; throws SysError (ECONNRESET...). */
export function readAvailable(fd: number, buf: Uint8Array): number | null {
  const n = native.vb_read_ready(fd, buf, buf.length);
  if (n === -Errno.EAGAIN) return null;
  return check(n, "read", `fd ${fd}`);
}

/**
 * The working directory as an O_PATH descriptor (close-on-exec), or null when it cannot be opened.
 * `/proc/self/fd/N` as a child's cwd starts it there after this process has left it.
 */
export function openCwd(): number | null {
  const fd = native.vb_open_cwd();
  return fd >= 0 ? fd : null;
}
