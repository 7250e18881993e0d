// Reaping: collecting exited children without blocking, whether any is left, and a child's stops.
#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "shim-internal.h"

// Reaps up to `max` exited children without blocking. Fills pids[i] and statuses[i] (raw wait
// status). Returns the number reaped (0 when none is ready or there are no children) or -errno.
int vb_reap(int32_t *pids, int32_t *statuses, int max) {
  int n = 0;
  while (n < max) {
    int status = 0;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p == 0) break;
    if (p < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break;
      return n > 0 ? n : -errno;
    }
    pids[n] = (int32_t)p;
    statuses[n] = (int32_t)status;
    n++;
  }
  return n;
}

// 1 when this process has at least one child (running, stopped or a zombie not yet reaped), 0 when it
// has none (ECHILD): with no child it has no descendant at all, so nothing is left to drain.
int vb_has_children(void) {
  siginfo_t info;
  for (;;) {
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0) return 1;
    if (errno == EINTR) continue;
    return errno == ECHILD ? 0 : -errno;
  }
}

// The signal that stopped child `pid`, taking its stop report (WSTOPPED alone: it never reaps, an
// exit stays for vb_reap): 0 when no stop is pending or it is gone, or -errno.
int vb_child_stopped(int pid) {
  siginfo_t info;
  for (;;) {
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &info, WSTOPPED | WNOHANG) == 0) return info.si_pid == pid && info.si_code == CLD_STOPPED ? info.si_status : 0;
    if (errno == EINTR) continue;
    return errno == ECHILD ? 0 : -errno;
  }
}
