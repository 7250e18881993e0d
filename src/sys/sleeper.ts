// Absolute-time sleep (clock_nanosleep TIMER_ABSTIME) and SCHED_FIFO for the calling thread, through the shim.
import { FFIType } from "bun:ffi";
import { check, lazyShim } from "./lib.ts";

const { i32, f64 } = FFIType;

// Opened at the first call: the boot imports this for the beat thread's priority, which may be off.
const lib = lazyShim({
  vb_sleep_until_ns: { args: [f64], returns: i32 },
  vb_sched_fifo_self: { args: [i32, i32], returns: i32 },
  vb_sched_policy_self: { args: [], returns: i32 },
});

/** Blocks the calling thread until CLOCK_MONOTONIC reaches `dueNs` (never early). */
export function sleepUntilNs(dueNs: number): void {
  const r = lib.vb_sleep_until_ns(dueNs);
  if (r < 0) check(r, "clock_nanosleep", `until ${dueNs} ns`);
}

/** sched_getscheduler's flag: children of the thread start under SCHED_OTHER. */
export const SCHED_RESET_ON_FORK = 0x40000000;

/**
 * SCHED_FIFO at `priority` for the calling thread with SCHED_RESET_ON_FORK (what it creates starts
 * under SCHED_OTHER), or SCHED_OTHER for 0 (with SCHED_RESET_ON_FORK when `keepReset`, or when
 * only CAP_SYS_NICE could clear it). Throws SysError (EPERM without CAP_SYS_NICE and RLIMIT_RTPRIO,
 * or in a cgroup with no real-time budget).
 */
export function setFifoPriority(priority: number, keepReset = false): void {
  check(lib.vb_sched_fifo_self(priority, keepReset ? 1 : 0), "sched_setscheduler", priority > 0 ? `SCHED_FIFO ${priority}` : "SCHED_OTHER");
}

/**
 * The calling thread's scheduling policy (0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR, 3 SCHED_BATCH,
 * 5 SCHED_IDLE, 6 SCHED_DEADLINE), with SCHED_RESET_ON_FORK or'ed in when set.
 */
export function schedPolicySelf(): number {
  return check(lib.vb_sched_policy_self(), "sched_getscheduler", "self");
}
