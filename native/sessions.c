// Process identity, sessions, process groups and the terminal's foreground group.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include "shim-internal.h"

int vb_getpid(void) { return (int)getpid(); }
int vb_getppid(void) { return (int)getppid(); }

int vb_setsid(void) {
  pid_t r = setsid();
  return r < 0 ? -errno : (int)r;
}

int vb_setpgid(int pid, int pgid) { return setpgid(pid, pgid) < 0 ? -errno : 0; }

int vb_getpgid(int pid) {
  pid_t r = getpgid(pid);
  return r < 0 ? -errno : (int)r;
}

int vb_isatty(int fd) { return isatty(fd) ? 1 : 0; }

int vb_tcgetpgrp(int fd) {
  pid_t r = tcgetpgrp(fd);
  return r < 0 ? -errno : (int)r;
}

int vb_tcsetpgrp(int fd, int pgrp) {
  // Called from a background process group: SIGTTOU must not stop us while we do it.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  int r = tcsetpgrp(fd, pgrp) < 0 ? -errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

// Blocks (1) or unblocks (0) SIGTTOU and SIGTTIN in the calling thread. Blocked, the init's own
// writes to a terminal it is in the background of pass under `stty tostop` (the kernel sends no
// SIGTTOU to a thread that blocks it); with a handler installed instead, each write was interrupted,
// counted and restarted for ever. Sent by another process, they reach a thread that does not block them.
int vb_block_tty_stops(int block) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTTOU);
  sigaddset(&set, SIGTTIN);
  return pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -EINVAL;
}
