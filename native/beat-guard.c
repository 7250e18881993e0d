// beat-guard.c: a SCHED_FIFO thread that puts the init's main thread under SCHED_FIFO at the start of each beat's guard window.
//
// The beat's clock sleeps on the event loop's coarse timer until `guard_ms` before the due time,
// and its real-time window (beat-priority.ts) opened only when that timer fired. Under load the
// timer fires late: a sched_switch trace of the real init at 100 ms with both cores loaded showed
// the main thread asleep in the event loop until 3-5 ms past the timer's due time, then queued as
// SCHED_OTHER behind the load. This thread sleeps to the armed time (FUTEX_WAIT_BITSET, absolute
// CLOCK_MONOTONIC: re-arming or disarming wakes it), raises the main thread there, so whatever it
// does from then to the beat runs real-time, and writes a byte to a pipe the event loop watches
// (the raise alone does not end the event loop's sleep). The window lowers it after the tick. If
// the beat has not started `hold` after the raise (the main thread is inside a long callback, which
// would otherwise run real-time to its end), the guard lowers it again itself.
// Arming, the raise and that lowering share a mutex: once vb_beat_guard_disarm returns, neither can
// follow. One guard per heartbeat (a test process runs several); each raises the thread that
// started it.
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim-internal.h"

struct vb_beat_guard {
  pthread_mutex_t mu;
  _Atomic int seq;  // the futex word: bumped by every arm, disarm and stop
  long long due_ns;  // absolute CLOCK_MONOTONIC time of the next raise or lowering; 0 when disarmed (under mu)
  long long hold_ns; // after a raise, how long until the guard lowers a thread whose beat has not started (under mu)
  int lowering;      // due_ns is the time of that lowering, not of a raise (under mu)
  int stop;          // under mu
  int keep_reset;    // the thread had SCHED_RESET_ON_FORK before its first window: lowered with it
  pid_t target;     // the thread to raise (the one that started the guard)
  int prio;
  int wake_r, wake_w; // the pipe: the thread writes a byte after each raise; the event loop reads
  _Atomic unsigned raises;
  _Atomic unsigned lowers; // raises the guard itself undid (the beat had not started within hold_ns)
  _Atomic int raise_error; // errno of the latest raise when the kernel refused it, else 0
  pthread_t thread;
};

static void wake(struct vb_beat_guard *g) {
  atomic_fetch_add(&g->seq, 1);
  syscall(SYS_futex, &g->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static long long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *guard_thread(void *arg) {
  struct vb_beat_guard *g = arg;
  for (;;) {
    int seq = atomic_load(&g->seq);
    pthread_mutex_lock(&g->mu);
    int stop = g->stop;
    long long due = g->due_ns;
    pthread_mutex_unlock(&g->mu);
    if (stop) return NULL;
    if (due == 0) {
      syscall(SYS_futex, &g->seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
      continue;
    }
    struct timespec at = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
    // Absolute timeout on CLOCK_MONOTONIC (FUTEX_WAIT_BITSET without FUTEX_CLOCK_REALTIME).
    long r = syscall(SYS_futex, &g->seq, FUTEX_WAIT_BITSET_PRIVATE, seq, &at, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == 0 || errno != ETIMEDOUT) continue; // re-armed, disarmed, stopped, or spurious: look again
    pthread_mutex_lock(&g->mu);
    if (g->due_ns == due && !g->stop) {
      if (g->lowering) {
        g->due_ns = 0;
        g->lowering = 0;
        if (vb_sched_fifo(g->target, 0, g->keep_reset) == 0) atomic_fetch_add(&g->lowers, 1);
      } else {
        int r = vb_sched_fifo(g->target, g->prio, 0);
        if (r == 0) {
          atomic_fetch_add(&g->raises, 1);
          atomic_store(&g->raise_error, 0); // a refusal that passed (a real-time budget back) is not reported for good
          g->due_ns = due + g->hold_ns; // lowered then unless the beat disarms first
          g->lowering = 1;
        } else {
          g->due_ns = 0;
          atomic_store(&g->raise_error, -r);
        }
        // Woken either way (a refused raise still ends a timer's overlong sleep). A full pipe already
        // has a wake the event loop has not read: this one adds nothing.
        char b = 1;
        ssize_t w = write(g->wake_w, &b, 1);
        (void)w;
      }
    }
    pthread_mutex_unlock(&g->mu);
  }
}

static void close_pipe(struct vb_beat_guard *g) {
  close(g->wake_r);
  close(g->wake_w);
}

/**
 * Starts a guard thread at SCHED_FIFO `prio` for the calling thread (the one it will raise; lowered
 * with SCHED_RESET_ON_FORK kept when `keep_reset`, as the window lowers it): stores
 * the guard in *out and returns the read end of its wake pipe (nonblocking, close-on-exec; the
 * caller closes it after vb_beat_guard_stop) once the thread runs real-time; -errno when it could
 * not (EPERM without CAP_SYS_NICE or RLIMIT_RTPRIO, EINVAL for a priority out of 1..99: nothing is
 * left running or open).
 */
int vb_beat_guard_start(int prio, int keep_reset, struct vb_beat_guard **out) {
  struct vb_beat_guard *g = calloc(1, sizeof *g);
  if (g == NULL) return -ENOMEM;
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
    int e = errno;
    free(g);
    return -e;
  }
  g->wake_r = p[0];
  g->wake_w = p[1];
  pthread_mutex_init(&g->mu, NULL);
  g->target = (pid_t)syscall(SYS_gettid);
  g->prio = prio;
  g->keep_reset = keep_reset;
  // Created real-time (glibc sets the policy before the thread runs; EPERM fails the create): no
  // handshake, which a SCHED_FIFO caller on one CPU could wait on for ever.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
  pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
  struct sched_param sp = {.sched_priority = prio};
  pthread_attr_setschedparam(&attr, &sp);
  // Created with every signal blocked: a process-directed signal (the init's counted ones) is then
  // never handled on this real-time thread's small stack. glibc's own (the capability drop's
  // setxid broadcast) still reaches it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int e = pthread_create(&g->thread, &attr, guard_thread, g);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    pthread_mutex_destroy(&g->mu);
    close_pipe(g);
    free(g);
    return -e;
  }
  pthread_setname_np(g->thread, "vb-beat-guard"); // what ps -L and /proc/PID/task/TID/comm show
  *out = g;
  return g->wake_r;
}

/**
 * The guard raises its thread `in_ns` from now (replacing an earlier arm), and lowers it again
 * `hold_ns` after that unless disarmed first (the beat started).
 */
int vb_beat_guard_arm(struct vb_beat_guard *g, double in_ns, double hold_ns) {
  long long due = mono_ns() + (in_ns > 0 ? (long long)in_ns : 0);
  pthread_mutex_lock(&g->mu);
  g->due_ns = due;
  g->hold_ns = hold_ns > 0 ? (long long)hold_ns : 0;
  g->lowering = 0;
  pthread_mutex_unlock(&g->mu);
  wake(g);
  return 0;
}

/** Cancels the pending raise or lowering; neither happens after this returns. 1 when one was pending, else 0. */
int vb_beat_guard_disarm(struct vb_beat_guard *g) {
  pthread_mutex_lock(&g->mu);
  int was = g->due_ns != 0;
  g->due_ns = 0;
  g->lowering = 0;
  pthread_mutex_unlock(&g->mu);
  if (was) wake(g);
  return was;
}

/** Raises done so far (the low 31 bits), or -errno when the kernel refused the latest one. */
int vb_beat_guard_raises(struct vb_beat_guard *g) {
  int e = atomic_load(&g->raise_error);
  if (e != 0) return -e;
  return (int)(atomic_load(&g->raises) & 0x7fffffff);
}

/** Raises the guard undid itself because the beat had not started within hold_ns (the low 31 bits). */
int vb_beat_guard_lowers(struct vb_beat_guard *g) {
  return (int)(atomic_load(&g->lowers) & 0x7fffffff);
}

/**
 * Ends the thread, waits for it and frees the guard (no raise after this returns). The write end of
 * the wake pipe is closed (its reader sees end-of-file); the read end stays open for the caller.
 */
int vb_beat_guard_stop(struct vb_beat_guard *g) {
  pthread_mutex_lock(&g->mu);
  g->stop = 1;
  g->due_ns = 0;
  pthread_mutex_unlock(&g->mu);
  wake(g);
  pthread_join(g->thread, NULL);
  close(g->wake_w);
  pthread_mutex_destroy(&g->mu);
  free(g);
  return 0;
}
