// Re-exec: replacing this process image (same pid, children kept), and the descriptors handed across it.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "carried-signals.h"
#include "shim-internal.h"

// Sets (on=1) or clears (on=0) FD_CLOEXEC: a descriptor handed to the next image at a re-exec.
int vb_set_cloexec(int fd, int on) {
  int f = fcntl(fd, F_GETFD);
  if (f < 0) return -errno;
  f = on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
  return fcntl(fd, F_SETFD, f) < 0 ? -errno : 0;
}

// Replaces this process image (same pid, children kept). Returns only on failure.
int vb_execve(const char *path, const char *argv_blob, int argc, const char *env_blob, int envc) {
  if (argc < 1 || envc < 0) return -EINVAL; // the kernel alone limits the counts (E2BIG from execve)
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  char **envp = calloc((size_t)envc + 1, sizeof(char *));
  if (!argv || !envp) {
    free(argv);
    free(envp);
    return -ENOMEM;
  }
  vb_split(argv_blob, argc, argv);
  vb_split(env_blob, envc, envp);
  // The signals the init answers wait, blocked, for the new image's handlers (carried-signals.h).
  sigset_t carry, old;
  vb_carried_signals(&carry, getenv("JSC_SIGNAL_FOR_GC"));
  pthread_sigmask(SIG_SETMASK, &carry, &old);
  // One counted but not yet taken by JavaScript (it arrived in the synchronous stretch before this
  // call, its loop turn never comes) is raised again here, blocked: it waits for the next image too.
  vb_sig_carry_begin(&carry);
  execve(path, argv, envp);
  int e = errno;
  vb_sig_carry_end();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  free(argv);
  free(envp);
  return -e;
}
