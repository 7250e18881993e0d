// sd_notify receiver FFI (native/notify.c): a datagram socket whose messages carry the sender's kernel-checked pid.
import { FFIType } from "bun:ffi";
import { Errno, errnoName } from "./errno.ts";
import { check, cstr, lazyShim } from "./lib.ts";
import { socketPathDetail } from "../util/unix-path.ts";

const { i32, ptr } = FFIType;

const lib = lazyShim({
  vb_notify_open: { args: [ptr, i32], returns: i32 },
  vb_notify_recv: { args: [i32, ptr, i32, ptr], returns: i32 },
  vb_notify_close: { args: [i32], returns: i32 },
  vb_notify_is_socket: { args: [i32, ptr], returns: i32 },
});

/** Binds the socket at `path` (file mode `mode`; `@name`: an abstract address, no file), nonblocking, with SO_PASSCRED (and SO_PASSPIDFD where the kernel has it). */
export function openNotifySocket(path: string, mode: number): number {
  return check(lib.vb_notify_open(cstr(path), mode), "bind", socketPathDetail(path));
}

export interface NotifyDatagram {
  text: string;
  /** The sender's pid in our PID namespace as the kernel saw it (0: none came, or from outside it). */
  pid: number;
  uid: number;
  /**
   * The cgroup v2 id (its directory's inode) the sender was in, read from the pidfd the kernel
   * attached: still known after the sender exited. null when the kernel cannot say (before Linux
   * 6.13; an exited sender before 6.15).
   */
  cgroupId: bigint | null;
  /** The datagram's length when it was over the buffer (4096 bytes): `text` is empty, the message is not to be applied. */
  tooLong?: number;
}

/** The longest message taken (systemd's NOTIFY_BUFFER_MAX, PIPE_BUF): a longer one is received only to be dropped. */
export const NOTIFY_MAX_BYTES = 4096;

const buf = new Uint8Array(NOTIFY_MAX_BYTES);
const cred = new Int32Array(5);

/** One waiting message, or null when none waits. */
export function receiveNotify(fd: number): NotifyDatagram | null {
  const n = lib.vb_notify_recv(fd, buf, buf.length, cred);
  if (n === -Errno.EAGAIN) return null;
  check(n, "recvmsg");
  const cgroupId = (BigInt(cred[4]! >>> 0) << 32n) | BigInt(cred[3]! >>> 0);
  if (n > buf.length) return { text: "", pid: cred[0]!, uid: cred[1]! >>> 0, cgroupId: cgroupId === 0n ? null : cgroupId, tooLong: n };
  return { text: new TextDecoder().decode(buf.subarray(0, n)), pid: cred[0]!, uid: cred[1]! >>> 0, cgroupId: cgroupId === 0n ? null : cgroupId };
}

/**
 * Why `fd` (inherited at a live re-exec) is not the sd_notify socket bound to `address`, as an errno
 * name (EBADF: not open; ENOTSOCK, EAFNOSUPPORT, EPROTOTYPE: not a Unix datagram socket;
 * EADDRNOTAVAIL: bound elsewhere; ENOENT: its socket file is gone); null when it is.
 */
export function notifySocketMismatch(fd: number, address: string): string | null {
  const r = lib.vb_notify_is_socket(fd, cstr(address));
  return r === 0 ? null : errnoName(-r);
}

export function closeNotifySocket(fd: number): void {
  lib.vb_notify_close(fd);
}
