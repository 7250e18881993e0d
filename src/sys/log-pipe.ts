// Service output pipes FFI (native/service-logs.c): a nonblocking read end PID 1 drains, a write end the service gets, an epoll set of the ends with data.
import { dlopen, FFIType } from "bun:ffi";
import { Errno } from "./errno.ts";
import { closeFdQuietly } from "./fd.ts";
import { check, shimPath } from "./lib.ts";

const { i32, ptr } = FFIType;

const lib = dlopen(shimPath, {
  vb_log_pipe: { args: [ptr], returns: i32 },
  vb_log_read: { args: [i32, ptr, i32], returns: i32 },
  vb_ready_set_new: { args: [], returns: i32 },
  vb_ready_set_watch: { args: [i32, i32, i32], returns: i32 },
  vb_ready_set_poll: { args: [i32, ptr, i32], returns: i32 },
}).symbols;

/** [read end (nonblocking, close-on-exec), write end (close-on-exec: dup'd onto the child's stdout/stderr)]. */
export function logPipe(): [number, number] {
  const fds = new Int32Array(2);
  check(lib.vb_log_pipe(fds), "pipe2");
  return [fds[0]!, fds[1]!];
}

/** Bytes read into `buf` (> 0), 0 at end of file, null when nothing waits. */
export function readAvailable(fd: number, buf: Uint8Array): number | null {
  const n = lib.vb_log_read(fd, buf, buf.length);
  if (n === -Errno.EAGAIN) return null;
  return check(n, "read");
}


/**
 * The read ends that have data (or a closed writer) now, in one epoll_wait instead of a read per
 * pipe. Level-triggered: an end left with data is reported again. Close-on-exec: the next image of a
 * live re-exec builds its own from the ends it adopts.
 */
export class ReadySet {
  private readonly ep: number;
  private readonly out = new Int32Array(256);
  private closed = false;

  constructor() {
    this.ep = check(lib.vb_ready_set_new(), "epoll_create1");
  }

  /** Watches `fd` (before it is closed, `unwatch` it). */
  watch(fd: number): void {
    check(lib.vb_ready_set_watch(this.ep, fd, 1), "epoll_ctl(ADD)", `fd ${fd}`);
  }

  unwatch(fd: number): void {
    lib.vb_ready_set_watch(this.ep, fd, 0);
  }

  /** The watched fds readable now, or null when there may be more than one call returns (read them all). */
  ready(): Int32Array | null {
    const n = check(lib.vb_ready_set_poll(this.ep, this.out, this.out.length), "epoll_wait");
    return n === this.out.length ? null : this.out.subarray(0, n);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFdQuietly(this.ep);
  }
}
