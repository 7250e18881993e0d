// Service output pipes FFI (native/service-logs.c): a nonblocking read end PID 1 drains (readAvailable, fd.ts), a write end the service gets.
import { FFIType } from "bun:ffi";
import { check, lazyShim } from "./lib.ts";

const { i32, ptr } = FFIType;

const lib = lazyShim({
  vb_log_pipe: { args: [ptr], returns: i32 },
});

/** [read end (nonblocking, close-on-exec), write end (close-on-exec: dup'd onto the child's stdout/stderr)]. */
export function logPipe(): [number, number] {
  const fds = new Int32Array(2);
  check(lib.vb_log_pipe(fds), "pipe2");
  return [fds[0]!, fds[1]!];
}
