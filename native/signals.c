// Signals: kill, dispositions, C-side signal counters (with a wake pipe for the event loop) and the signal state.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "carried-signals.h"
#include "shim-internal.h"

int vb_kill(int pid, int sig) { return kill(pid, sig) < 0 ? -errno : 0; }

// Sets SIG_IGN (how=1) or SIG_DFL (how=0) for a signal Bun does not handle itself.
int vb_signal_disposition(int sig, int how) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = how ? SIG_IGN : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

// Signal counters: a C handler only increments an atomic counter and writes a byte to the wake
// pipe, whose read end the event loop watches; JavaScript then reads the counters. Used for SIGPWR
// (JSC's GC signal moved away with JSC_SIGNAL_FOR_GC) and other signals that Bun's process.on
// cannot deliver. No JavaScript ever runs inside a signal handler.
static atomic_uint_fast64_t vb_sig_counts[65];
static atomic_int vb_sig_wake_fd = -1;
// Deliveries not taken yet: each is taken once, by JavaScript (vb_sigcount_take), or at a live
// re-exec by vb_sig_carry_begin or the handler (raised again, to wait for the next image).
static atomic_uint_fast64_t vb_sig_unread[65];
// While a re-exec's execve is under way: the signals carried across it (bit n-1 = signal n), and the
// thread calling execve, which has them blocked.
static atomic_uint_fast64_t vb_carry_mask;
static atomic_int vb_carry_tid;

// Raised again at the exec'ing thread, which blocks it: pending, it survives execve for the next image.
static void vb_carry(int sig) {
  if (atomic_exchange(&vb_sig_unread[sig], 0) > 0) syscall(SYS_tgkill, getpid(), atomic_load(&vb_carry_tid), sig);
}

// Async-signal-safe: write(2) on a non-blocking pipe (a full pipe already has a wake pending).
static void vb_count(int sig) {
  atomic_fetch_add_explicit(&vb_sig_counts[sig], 1, memory_order_relaxed);
  // Sequentially consistent, with vb_sig_carry_begin's store of the mask before its takes: an
  // increment either is taken there or sees the mask here. (Still lost: one whose handler, on another
  // thread, is between its entry and this re-raise when execve ends that thread: a few instructions.)
  atomic_fetch_add(&vb_sig_unread[sig], 1);
  if (atomic_load(&vb_carry_mask) & ((uint64_t)1 << (sig - 1))) {
    vb_carry(sig);
    return;
  }
  int fd = atomic_load_explicit(&vb_sig_wake_fd, memory_order_relaxed);
  if (fd >= 0) {
    int saved = errno;
    char b = 1;
    ssize_t r = write(fd, &b, 1);
    (void)r;
    errno = saved;
  }
}

static void vb_count_handler(int sig) {
  if (sig > 0 && sig < 65) vb_count(sig);
}

// The read end of the wake pipe (made on the first call; non-blocking, close-on-exec).
int vb_sigcount_wake_fd(void) {
  static int read_end = -1;
  static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&once);
  if (read_end < 0) {
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
      int e = errno;
      pthread_mutex_unlock(&once);
      return -e;
    }
    read_end = p[0];
    atomic_store(&vb_sig_wake_fd, p[1]);
  }
  pthread_mutex_unlock(&once);
  return read_end;
}

int vb_sigcount_install(int sig) {
  if (sig <= 0 || sig >= 65) return -EINVAL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = vb_count_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

// Counts a synchronous signal (SIGSEGV, SIGILL, ...) only when another process sent it with kill():
// dumb-init forwards those. A real fault, or one this process raised itself (abort), goes to the
// handler that was there before (Bun's crash handler): restored, then the fault re-executes or the
// signal is raised again once this handler returns.
static struct sigaction vb_sent_prev[65];

static void vb_sent_handler(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  if (sig <= 0 || sig >= 65) return;
  if (info && info->si_code <= 0 && info->si_pid != getpid()) {
    vb_count(sig);
    return;
  }
  sigaction(sig, &vb_sent_prev[sig], NULL);
  if (!info || info->si_code <= 0) raise(sig);
}

int vb_sigcount_install_sent(int sig) {
  if (sig <= 0 || sig >= 65) return -EINVAL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = vb_sent_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, &vb_sent_prev[sig]) < 0 ? -errno : 0;
}

// Shares a signal with the handler already there (JavaScriptCore's GC suspends threads with SIGPWR
// unless JSC_SIGNAL_FOR_GC moves it): one sent by another process with kill() is counted (and
// forwarded by tini mode, a shutdown as PID 1); one this process sent itself (the GC's pthread_kill)
// goes to that handler, with the same mask and flags it was installed with. The engine never sees
// an outside SIGPWR, which before reached its suspend handler with no suspension under way. Where
// no handler was there (SIG_DFL, SIG_IGN), this process's own is dropped: the kernel's SIGPIPE for
// a write to a closed console is the write's EPIPE, never a signal for CMD.
static struct sigaction vb_shared_prev[65];

static void vb_shared_handler(int sig, siginfo_t *info, void *uc) {
  if (sig <= 0 || sig >= 65) return;
  if (info && info->si_code <= 0 && info->si_pid != getpid()) {
    vb_count(sig);
    return;
  }
  struct sigaction *prev = &vb_shared_prev[sig];
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction) prev->sa_sigaction(sig, info, uc);
  } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN && prev->sa_handler) {
    prev->sa_handler(sig);
  }
}

int vb_sigcount_install_shared(int sig) {
  if (sig <= 0 || sig >= 65) return -EINVAL;
  struct sigaction cur;
  if (sigaction(sig, NULL, &cur) < 0) return -errno;
  vb_shared_prev[sig] = cur;
  struct sigaction sa = cur;
  sa.sa_sigaction = vb_shared_handler;
  sa.sa_flags = cur.sa_flags | SA_SIGINFO;
  return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

// Takes the deliveries of `sig` not taken yet (JavaScript acts on them): their number, 0 if none.
double vb_sigcount_take(int sig) {
  if (sig <= 0 || sig >= 65) return -1;
  return (double)atomic_exchange(&vb_sig_unread[sig], 0);
}

// A live re-exec, on the thread about to call execve with `carry` blocked: a counted signal of that
// set that JavaScript has not taken (its loop turn never comes) is raised again at this thread,
// where it waits, pending across the exec, for the next image's handlers; one counted on another
// thread from here on goes the same way (vb_count). vb_sig_carry_end undoes it if the exec failed.
void vb_sig_carry_begin(const sigset_t *carry) {
  uint64_t mask = 0;
  for (int sig = 1; sig < 65 && sig <= SIGRTMAX; sig++)
    if (sigismember(carry, sig) == 1) mask |= (uint64_t)1 << (sig - 1);
  atomic_store(&vb_carry_tid, (int)syscall(SYS_gettid));
  atomic_store(&vb_carry_mask, mask);
  for (int sig = 1; sig < 65; sig++)
    if (mask & ((uint64_t)1 << (sig - 1))) vb_carry(sig);
}

// The exec failed: counted signals wake the loop again; the ones raised again stay pending at this
// thread until it unblocks them, then are counted (once) for JavaScript.
void vb_sig_carry_end(void) { atomic_store(&vb_carry_mask, 0); }

// Unblocks, in the calling thread, the signals an exec into the init carries blocked (carried-signals.h):
// once the init counts them, one that waited (sent before its handlers) is counted now.
int vb_sigcount_unblock_carried(void) {
  sigset_t carry;
  vb_carried_signals(&carry, getenv("JSC_SIGNAL_FOR_GC"));
  return pthread_sigmask(SIG_UNBLOCK, &carry, NULL) == 0 ? 0 : -EINVAL;
}

double vb_sigcount_read(int sig) {
  if (sig <= 0 || sig >= 65) return -1;
  return (double)atomic_load_explicit(&vb_sig_counts[sig], memory_order_relaxed);
}

// Installs counters for a whole set in one call (tini mode's 52 signals one FFI call at a time cost
// 2-3 ms of start-up). Each set is a 64-bit mask as two 32-bit halves, low first (bit n-1 = signal
// n): masks[0..1] plain, masks[2..3] sent-only (vb_sigcount_install_sent), masks[4..5] shared
// (vb_sigcount_install_shared). Every signal is tried; the ones that failed are set in failed[0..1].
// Returns 0, or the -errno of the last failure.
int vb_sigcount_install_set(const uint32_t *masks, uint32_t *failed) {
  int ret = 0;
  failed[0] = failed[1] = 0;
  for (int sig = 1; sig < 65; sig++) {
    int half = sig > 32 ? 1 : 0;
    uint32_t bit = (uint32_t)1 << ((sig - 1) % 32);
    int r = 0;
    if (masks[4 + half] & bit) r = vb_sigcount_install_shared(sig);
    else if (masks[2 + half] & bit) r = vb_sigcount_install_sent(sig);
    else if (masks[half] & bit) r = vb_sigcount_install(sig);
    if (r < 0) {
      failed[half] |= bit;
      ret = r;
    }
  }
  return ret;
}

// Every counter at once: out[n] = deliveries of signal n so far (out has 65 entries; out[0] = 0).
void vb_sigcount_read_all(double *out) {
  out[0] = 0;
  for (int sig = 1; sig < 65; sig++) out[sig] = (double)atomic_load_explicit(&vb_sig_counts[sig], memory_order_relaxed);
}

// Writes the calling process's signal state: [0]=blocked mask, [1]=ignored mask (bit n-1 = signal n).
int vb_signal_state(uint64_t *out) {
  sigset_t cur;
  if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0) return -EINVAL;
  uint64_t blocked = 0, ignored = 0;
  for (int s = 1; s < 65; s++) {
    if (s <= SIGRTMAX && sigismember(&cur, s) == 1) blocked |= (uint64_t)1 << (s - 1);
    struct sigaction sa;
    if (s <= SIGRTMAX && sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) ignored |= (uint64_t)1 << (s - 1);
  }
  out[0] = blocked;
  out[1] = ignored;
  return 0;
}
