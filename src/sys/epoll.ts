// epoll FFI (native/epoll.c): which of many nonblocking descriptors are ready, asked without waiting (control connections, service log pipes).
import { FFIType } from "bun:ffi";
import { check, lazyShim } from "./lib.ts";

const { i32, ptr } = FFIType;

const lib = lazyShim({
  vb_epoll_create: { args: [], returns: i32 },
  vb_epoll_ctl: { args: [i32, i32, i32, i32], returns: i32 },
  vb_epoll_ready: { args: [i32, ptr, ptr, i32], returns: i32 },
});

/** epoll event bits (sys/epoll.h). */
export const PollBits = { in: 0x001, out: 0x004, err: 0x008, hup: 0x010, rdhup: 0x2000 } as const;

const enum Op {
  add = 1,
  del = 2,
  mod = 3,
}

/** A new epoll set (close-on-exec: the next image of a live re-exec builds its own). */
export function epollCreate(): number {
  return check(lib.vb_epoll_create(), "epoll_create1");
}

/** Adds `fd` to `ep` for input (level-triggered; hang-up and errors are always reported). */
export function epollAdd(ep: number, fd: number): void {
  check(lib.vb_epoll_ctl(ep, Op.add, fd, PollBits.in), "epoll_ctl", `fd ${fd}`);
}

/** Changes what `ep` reports for `fd`: input (and peer shutdown) when `input`, writability when `output`. */
export function epollWatch(ep: number, fd: number, input: boolean, output: boolean): void {
  const events = (input ? PollBits.in | PollBits.rdhup : 0) | (output ? PollBits.out : 0);
  check(lib.vb_epoll_ctl(ep, Op.mod, fd, events), "epoll_ctl", `fd ${fd}`);
}

/**
 * Removes `fd` from `ep`. Do it before closing `fd`: a copy of the descriptor (a child between fork
 * and exec) keeps the entry alive, and its fd number may be reused meanwhile.
 */
export function epollForget(ep: number, fd: number): void {
  check(lib.vb_epoll_ctl(ep, Op.del, fd, 0), "epoll_ctl", `fd ${fd}`);
}

/** Fills `fds`/`events` with the descriptors of `ep` that are ready now (never waits); returns how many. */
export function readyNow(ep: number, fds: Int32Array, events: Uint32Array): number {
  return check(lib.vb_epoll_ready(ep, fds, events, Math.min(fds.length, events.length)), "epoll_wait");
}
