// File descriptors: close (checked or quiet), a read that never waits, the working directory held as a descriptor, the inherited ones kept for a child.
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

/**
 * Clears close-on-exec on the descriptors from 4 up that this process was started with (Bun marks
 * them all close-on-exec as it starts), so that a child started now inherits them, as tini's does.
 * Call before opening any of its own: every open one counts as inherited but the runtime's event
 * loop (an epoll watching an eventfd under its number here, and what it watches so) and the shim's
 * memfd; an inherited eventfd, epoll or pidfd is passed on. Returns how many; throws SysError without /proc.
 */
export function keepInheritedFds(): number {
  return check(native.vb_keep_inherited_fds(), "opendir", "/proc/self/fd");
}
