// sleeper.c: the heartbeat's wake-up thread sleeps to absolute CLOCK_MONOTONIC times, optionally SCHED_FIFO.
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "shim-internal.h"

/** Sleeps until CLOCK_MONOTONIC reaches due_ns (absolute; never early; restarted on EINTR). 0 or -errno. */
int vb_sleep_until_ns(double due_ns) {
  if (!(due_ns >= 0)) return -EINVAL;
  struct timespec due;
  long long ns = (long long)due_ns;
  due.tv_sec = ns / 1000000000LL;
  due.tv_nsec = ns % 1000000000LL;
  int r;
  while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL)) == EINTR) {
  }
  return -r;
}

/**
 * Thread `tid` (0: the calling one) under SCHED_FIFO at `prio` (1..99) with SCHED_RESET_ON_FORK (a
 * process or thread it creates starts under SCHED_OTHER: the beat's window, its guard thread, the
 * sleeper thread), or back to SCHED_OTHER for 0, with SCHED_RESET_ON_FORK when `keep_reset` (the
 * thread had it before its first window). Only a thread with CAP_SYS_NICE may clear that flag: one
 * that raised under RLIMIT_RTPRIO alone gets EPERM for a plain SCHED_OTHER and leaves with the flag
 * kept. 0 or -errno.
 */
int vb_sched_fifo(pid_t tid, int prio, int keep_reset) {
  struct sched_param p = {.sched_priority = prio};
  if (prio > 0) return sched_setscheduler(tid, SCHED_FIFO | SCHED_RESET_ON_FORK, &p) == 0 ? 0 : -errno;
  if (sched_setscheduler(tid, SCHED_OTHER | (keep_reset ? SCHED_RESET_ON_FORK : 0), &p) == 0) return 0;
  if (errno != EPERM || keep_reset) return -errno;
  return sched_setscheduler(tid, SCHED_OTHER | SCHED_RESET_ON_FORK, &p) == 0 ? 0 : -errno;
}

/** vb_sched_fifo for the calling thread. */
int vb_sched_fifo_self(int prio, int keep_reset) {
  return vb_sched_fifo(0, prio, keep_reset);
}

/** The calling thread's scheduling policy as sched_getscheduler gives it (SCHED_RESET_ON_FORK included), or -errno. */
int vb_sched_policy_self(void) {
  int r = sched_getscheduler(0);
  return r < 0 ? -errno : r;
}
