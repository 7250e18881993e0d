// Readiness by signal (native/control.c): the kernel signals this process when a descriptor has data.
import { FFIType } from "bun:ffi";
import { check, lazyShim } from "./lib.ts";

const lib = lazyShim({
  vb_fd_wake_signal: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
});

/**
 * The kernel sends this process `sig` whenever `fd` becomes readable (O_ASYNC, F_SETSIG; a pipe also
 * when its last writer closes), so its reader wakes on data instead of polling. A signal whose
 * default action is "ignore" (SIGURG) is harmless while no handler is installed. `sig` 0: no more.
 */
export function wakeOnReadable(fd: number, sig: number): void {
  check(lib.vb_fd_wake_signal(fd, sig), "fcntl(O_ASYNC)", `fd ${fd}`);
}
