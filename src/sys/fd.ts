// File descriptors: close (checked or quiet), and the working directory held as a descriptor.
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

/**
 * The working directory as an O_PATH descriptor (close-on-exec), or null when it cannot be opened.
 * `/proc/self/fd/N` as a child's cwd starts it there after this process has left it.
 */
export function openCwd(): number | null {
  const fd = native.vb_open_cwd();
  return fd >= 0 ? fd : null;
}
