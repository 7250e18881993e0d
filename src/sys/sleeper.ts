// Absolute-time sleep (clock_nanosleep TIMER_ABSTIME) and SCHED_FIFO for the calling thread, through the shim.
import { FFIType } from "bun:ffi";
import { check, openShim } from "./lib.ts";

const { i32, f64 } = FFIType;

const lib = openShim({
  vb_sleep_until_ns: { args: [f64], returns: i32 },
  vb_sched_fifo_self: { args: [i32], returns: i32 },
}).symbols;

/** Blocks the calling thread until CLOCK_MONOTONIC reaches `dueNs` (never early). */
export function sleepUntilNs(dueNs: number): void {
  const r = lib.vb_sleep_until_ns(dueNs);
  if (r < 0) check(r, "clock_nanosleep", `until ${dueNs} ns`);
}

/** SCHED_FIFO at `priority` (1..99) for the calling thread, or SCHED_OTHER for 0 (EPERM without CAP_SYS_NICE). */
export function setFifoPriority(priority: number): void {
  check(lib.vb_sched_fifo_self(priority), "pthread_setschedparam", `SCHED_FIFO ${priority}`);
}
