// Capabilities of the init itself: its bounding set, and restricting every thread of PID 1.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "shim-internal.h"

// Drops every capability not in `keep` from the bounding set of the calling process (needs CAP_SETPCAP).
int vb_drop_bounding(double keep_d) {
  uint64_t keep = (uint64_t)keep_d;
  for (int c = 0; c < 64; c++) {
    if (keep & ((uint64_t)1 << c)) continue;
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) return -errno;
  }
  return 0;
}

// PID 1's own capabilities. Capability sets (and the bounding set) belong to each thread: capset(2)
// and PR_CAPBSET_DROP change the calling thread only, and Bun starts its threads (JIT, GC, allocator,
// worker pools) before any of our code runs, so they would keep everything. vb_restrict_caps(keep,
// out) restricts the calling thread and then every other thread of the process: each drops from
// its bounding set what `keep` lacks, then sets permitted = effective = keep (within what it
// holds) and inheritable empty (the ambient set follows). The other threads do it themselves, in
// a handler for signal 33: glibc keeps that signal unblocked in every thread (its own setxid
// broadcast works this way, so even threads that block everything else take it). The handler acts
// only on our own queued signal (SI_QUEUE, this process, a magic value) and hands anything else to
// the handler it replaced; that one is put back at the end. Threads are rescanned until a scan
// finds none that has not answered, so a thread created meanwhile cannot be missed (one created
// after its creator answered inherits the reduced sets). out[0] = threads restricted (this one
// included), out[1] = threads whose own capset failed, out[2] = threads alive that never answered
// (within ~1 s). Returns 0, or -errno when the calling thread itself could not be restricted
// (nothing else is tried then). Not async-signal-safe; call it from one thread at a time.
#define VB_CAPS_SIGNAL 33 /* glibc's SIGSETXID */
#define VB_CAPS_MAGIC 0x76624350 /* "vbCP" */
#define VB_CAPS_MAX_THREADS 1024
#define VB_SA_RESTORER 0x04000000

struct vb_kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};

static _Atomic uint64_t vb_caps_keep;
static atomic_int vb_caps_acked_tid[VB_CAPS_MAX_THREADS];
static atomic_int vb_caps_acked;
static atomic_int vb_caps_failed;
static struct vb_kernel_sigaction vb_caps_old;

// This thread: bounding set, then permitted/effective = keep & permitted, inheritable empty.
static int vb_caps_restrict_thread(uint64_t keep) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return -errno;
  uint64_t permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
  for (int c = 0; c < 64; c++) {
    if (keep & ((uint64_t)1 << c)) continue;
    if (syscall(SYS_prctl, PR_CAPBSET_READ, c, 0, 0, 0) == 1 && syscall(SYS_prctl, PR_CAPBSET_DROP, c, 0, 0, 0) < 0) return -errno;
  }
  uint64_t k = keep & permitted;
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)k;
  data[1].effective = data[1].permitted = (uint32_t)(k >> 32);
  hdr.pid = 0;
  if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
  return 0;
}

static void vb_caps_handler(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  if (si && si->si_code == SI_QUEUE && si->si_value.sival_int == VB_CAPS_MAGIC && si->si_pid == getpid()) {
    int r = vb_caps_restrict_thread(atomic_load(&vb_caps_keep));
    if (r < 0) atomic_fetch_add(&vb_caps_failed, 1);
    int i = atomic_fetch_add(&vb_caps_acked, 1);
    if (i < VB_CAPS_MAX_THREADS) atomic_store(&vb_caps_acked_tid[i], (int)syscall(SYS_gettid));
    errno = saved;
    return;
  }
  errno = saved;
  // Not ours: what the replaced handler would have done (glibc's setxid, if one is under way).
  void *h = vb_caps_old.handler;
  if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) return;
  if (vb_caps_old.flags & SA_SIGINFO) ((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
  else ((void (*)(int))h)(sig);
}

static int vb_caps_answered(int tid) {
  int n = atomic_load(&vb_caps_acked);
  if (n > VB_CAPS_MAX_THREADS) n = VB_CAPS_MAX_THREADS;
  for (int i = 0; i < n; i++)
    if (atomic_load(&vb_caps_acked_tid[i]) == tid) return 1;
  return 0;
}

static int vb_caps_thread_alive(int tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d", tid);
  return access(path, F_OK) == 0;
}

int vb_restrict_caps(double keep_d, int32_t *out) {
  uint64_t keep = (uint64_t)keep_d;
  out[0] = out[1] = out[2] = 0;
  int r = vb_caps_restrict_thread(keep);
  if (r < 0) return r;
  out[0] = 1;
#if defined(__x86_64__) || defined(__aarch64__)
  // Borrow the restorer (return-from-handler trampoline) of a handler libc installed.
  struct vb_kernel_sigaction cur;
  if (syscall(SYS_rt_sigaction, VB_CAPS_SIGNAL, NULL, &vb_caps_old, sizeof(uint64_t)) < 0) {
    out[2] = -1;
    return 0;
  }
  void *restorer = (vb_caps_old.flags & VB_SA_RESTORER) ? vb_caps_old.restorer : NULL;
  for (int s = 1; !restorer && s < 65; s++)
    if (syscall(SYS_rt_sigaction, s, NULL, &cur, sizeof(uint64_t)) == 0 && (cur.flags & VB_SA_RESTORER)) restorer = cur.restorer;
  if (!restorer) {
    out[2] = -1;
    return 0;
  }
  struct vb_kernel_sigaction sa = {(void *)vb_caps_handler, SA_SIGINFO | SA_RESTART | VB_SA_RESTORER, restorer, ~(uint64_t)0};
  atomic_store(&vb_caps_keep, keep);
  atomic_store(&vb_caps_acked, 0);
  atomic_store(&vb_caps_failed, 0);
  for (int i = 0; i < VB_CAPS_MAX_THREADS; i++) atomic_store(&vb_caps_acked_tid[i], 0);
  if (syscall(SYS_rt_sigaction, VB_CAPS_SIGNAL, &sa, NULL, sizeof(uint64_t)) < 0) {
    out[2] = -1;
    return 0;
  }
  pid_t me = getpid();
  int self = (int)syscall(SYS_gettid);
  static int sent[VB_CAPS_MAX_THREADS];
  int nsent = 0;
  int unanswered = 0;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int round = 0; round < 100; round++) {
    // Signal every thread not signalled yet.
    int fresh = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) break;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      int tid = atoi(e->d_name);
      if (tid <= 0 || tid == self) continue;
      int known = 0;
      for (int i = 0; i < nsent && !known; i++) known = sent[i] == tid;
      if (known || nsent >= VB_CAPS_MAX_THREADS) continue;
      siginfo_t si;
      memset(&si, 0, sizeof si);
      si.si_signo = VB_CAPS_SIGNAL;
      si.si_code = SI_QUEUE;
      si.si_pid = me;
      si.si_uid = getuid();
      si.si_value.sival_int = VB_CAPS_MAGIC;
      if (syscall(SYS_rt_tgsigqueueinfo, me, tid, VB_CAPS_SIGNAL, &si) < 0) continue; // gone already
      sent[nsent++] = tid;
      fresh++;
    }
    closedir(d);
    if (fresh == 0 && round > 0) break;
    // Wait until every thread signalled has answered or is gone (bounded: ~1 s in all).
    for (;;) {
      unanswered = 0;
      for (int i = 0; i < nsent; i++)
        if (!vb_caps_answered(sent[i]) && vb_caps_thread_alive(sent[i])) unanswered++;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
      if (unanswered == 0 || ms > 1000) break;
      struct timespec nap = {0, 200 * 1000};
      nanosleep(&nap, NULL);
    }
    if (unanswered > 0) break;
  }
  syscall(SYS_rt_sigaction, VB_CAPS_SIGNAL, &vb_caps_old, NULL, sizeof(uint64_t));
  int answered = 0;
  for (int i = 0; i < nsent; i++) answered += vb_caps_answered(sent[i]);
  out[0] = 1 + answered - atomic_load(&vb_caps_failed);
  out[1] = atomic_load(&vb_caps_failed);
  out[2] = unanswered;
  return 0;
#else
  out[2] = -1;
  return 0;
#endif
}
