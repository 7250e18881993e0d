// Control socket FFI (native/control.c): Unix listen/accept with SO_PEERCRED + SO_PEERGROUPS (accepted peers join an epoll set), nonblocking I/O.
import { FFIType } from "bun:ffi";
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { Errno, errnoName } from "./errno.ts";
import { closeFdQuietly } from "./fd.ts";
import { check, cstr, lazyShim } from "./lib.ts";
import { socketPathDetail } from "../util/unix-path.ts";

const { i32, ptr } = FFIType;

const lib = lazyShim({
  vb_ctl_listen: { args: [ptr, i32, i32, i32], returns: i32 },
  vb_ctl_accept: { args: [i32, i32, i32, ptr, ptr, i32], returns: i32 },
  vb_ctl_write: { args: [i32, ptr, i32], returns: i32 },
  vb_ctl_shutdown_write: { args: [i32], returns: i32 },
  vb_unix_in_use: { args: [ptr, i32], returns: i32 },
  vb_unix_connect_probe: { args: [ptr], returns: i32 },
  vb_ctl_is_listener: { args: [i32, ptr], returns: i32 },
  vb_ctl_is_accepted: { args: [i32, ptr], returns: i32 },
});

const SOCK_STREAM = 1;

/**
 * Whether a stream socket at `path` has a live listener (a connect gets through): the file of
 * another running init is never replaced. False for no file or a stale one (ECONNREFUSED).
 */
function unixSocketInUse(path: string): boolean {
  return check(lib.vb_unix_in_use(cstr(path), SOCK_STREAM), "connect", socketPathDetail(path)) === 1;
}

/**
 * What one nonblocking connect to the stream socket at `path` gets: null when it gets through, else
 * the errno's name (EAGAIN: a listener whose backlog is full; ECONNREFUSED: nobody listens there).
 * node:net reports both as ECONNREFUSED; the control client asks again here to tell them apart.
 */
export function connectProbe(path: string): { errno: string; code: number } | null {
  const r = lib.vb_unix_connect_probe(cstr(path));
  return r >= 0 ? null : { errno: errnoName(-r), code: -r };
}

/**
 * Clears `path` for a new listening stream socket: nothing there, or a stale socket file (removed).
 * Any other file, or a socket another process still listens on (a second init with the same
 * run_dir took the first one's), is refused as `fail(reason)`.
 */
export function clearSocketPath(path: string, fail: (reason: string) => Error): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw fail(`${path} exists and is not a socket`);
  if (unixSocketInUse(path)) throw fail(`${path} is in use by another running instance (two inits with the same run_dir?)`);
  rmSync(path, { force: true });
}

/**
 * Why `fd` is not the listening control socket a previous image handed over at a live re-exec (a
 * listening Unix stream socket bound to `path`, its socket file still there), as an errno name
 * (EBADF: not open; ENOTSOCK, EAFNOSUPPORT, EPROTOTYPE, EINVAL: not listening; EADDRNOTAVAIL:
 * bound elsewhere; ENOENT: its file is gone); null when it is.
 */
export function listenerMismatch(fd: number, path: string): string | null {
  const r = lib.vb_ctl_is_listener(fd, cstr(path));
  return r === 0 ? null : errnoName(-r);
}

/**
 * Why `fd` is not a connection a previous image handed over at a live re-exec that was accepted on
 * the listener bound to `path` (a connected, not listening Unix stream socket named by that path), as
 * an errno name (EBADF: not open; ENOTSOCK, EAFNOSUPPORT, EPROTOTYPE: not a Unix stream socket;
 * EINVAL: a listening one; EADDRNOTAVAIL: accepted elsewhere, or unbound; ENOTCONN: not connected);
 * null when it is. The same check as listenerMismatch (native/unix-addr.c, vb_unix_socket_at).
 */
export function acceptedMismatch(fd: number, path: string): string | null {
  const r = lib.vb_ctl_is_accepted(fd, cstr(path));
  return r === 0 ? null : errnoName(-r);
}

/**
 * Whether the listening socket a previous image handed over at a live re-exec (`fd`, bound by it to
 * `handedPath`) may be adopted as the listener for `path`: null when it may (vb_ctl_is_listener: a
 * listening Unix stream socket bound to that path, its file still there). Else why not, and whether
 * it was closed: only a descriptor proven to be that listener is (its socket file gone, so nobody can
 * reach it; or it listens at another path than `path`, run_dir changed). Anything else (not open, not
 * a listening socket at `handedPath`) is not the socket handed over: possibly a descriptor this image
 * opened since at that number, it is left alone. The control socket and the evolution session socket
 * both adopt through this, then bind `path` anew when it says no.
 */
export function refuseHandedListener(fd: number, handedPath: string, path: string): { why: string; closed: boolean } | null {
  const mismatch = listenerMismatch(fd, handedPath);
  if (mismatch === "ENOENT") {
    closeFdQuietly(fd);
    return { why: `its socket file ${handedPath} is gone (ENOENT)`, closed: true };
  }
  if (mismatch !== null) return { why: `fd ${fd} is not a listening Unix stream socket bound to ${handedPath} (${mismatch})`, closed: false };
  if (handedPath !== path) {
    closeFdQuietly(fd);
    return { why: `it listens at ${handedPath}, not ${path} (run_dir changed)`, closed: true };
  }
  return null;
}

/**
 * A listening socket bound to `path` that this process holds although no handoff named it: the one
 * the previous image handed over at a live re-exec whose handoff this image could not read (cut
 * short: it boots fresh). Left open and unserved, it kept the path "in use by another running
 * instance": the fresh boot had no control socket (or no evolution socket), and every client waited
 * in its backlog. Looked for only when a socket file is at `path`.
 */
export function heldListenerAt(path: string): number | null {
  let names: string[];
  try {
    if (!lstatSync(path).isSocket()) return null;
    names = readdirSync("/proc/self/fd");
  } catch {
    return null;
  }
  for (const n of names) {
    const fd = Number(n);
    if (Number.isInteger(fd) && fd >= 3 && listenerMismatch(fd, path) === null) return fd;
  }
  return null;
}

/** A peer's credentials as they were when it called connect(2) (the kernel's copy; later changes by the peer do not show). */
export interface PeerCred {
  /** Its pid in our PID namespace (0 when it lives outside it): for the log only, never for a decision. */
  pid: number;
  uid: number;
  /** Effective gid. */
  gid: number;
  /** Supplementary groups (SO_PEERGROUPS); null when the kernel lacks SO_PEERGROUPS (before 4.13). */
  groups: number[] | null;
}

/**
 * A listening Unix stream socket at `path` (nonblocking, close-on-exec) whose file has `mode`
 * before anyone can connect. A path longer than sun_path is bound through its directory's
 * /proc/self/fd alias (native/unix-addr.c); the file is still made at `path`. `signal` > 0: the kernel sends that signal when it becomes ready.
 */
export function listenUnix(path: string, mode: number, backlog: number, signal: number): number {
  return check(lib.vb_ctl_listen(cstr(path), mode, backlog, signal), "listen", socketPathDetail(path));
}

const credBuf = new Int32Array(4);
/** NGROUPS_MAX (65536) gids: no peer can have more. Allocated on the first accept. */
const MAX_GROUPS = 65536;
let groupBuf: Int32Array | null = null;

/**
 * Accepts one waiting connection, reads its peer's connect-time credentials (SO_PEERCRED and
 * SO_PEERGROUPS), adds it to epoll set `ep` and enables signal notifications. Returns null when
 * none is waiting (EAGAIN); throws SysError otherwise.
 */
export function acceptPeer(listenFd: number, ep: number, signal: number): { fd: number; cred: PeerCred } | null {
  groupBuf ??= new Int32Array(MAX_GROUPS);
  const r = lib.vb_ctl_accept(listenFd, ep, signal, credBuf, groupBuf, MAX_GROUPS);
  if (r === -Errno.EAGAIN) return null;
  check(r, "accept4");
  const n = credBuf[3]!;
  const groups = n < 0 ? null : Array.from(groupBuf.subarray(0, n), (g) => g >>> 0);
  return { fd: r, cred: { pid: credBuf[0]!, uid: credBuf[1]! >>> 0, gid: credBuf[2]! >>> 0, groups } };
}

/** Bytes written (maybe fewer), 0 when the socket buffer is full; throws on errors (EPIPE). */
export function writeSome(fd: number, buf: Uint8Array): number {
  const r = lib.vb_ctl_write(fd, buf, buf.length);
  if (r === -Errno.EAGAIN) return 0;
  return check(r, "write", `fd ${fd}`);
}

/** shutdown(SHUT_WR): the peer gets what was sent, then end of stream. */
export function shutdownWrite(fd: number): void {
  check(lib.vb_ctl_shutdown_write(fd), "shutdown", `fd ${fd}`);
}
