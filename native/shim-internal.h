// shim-internal.h: what the shim's system-call files share (conventions, blob splitting, Unix socket addresses).
//
// The shim: the system calls vector-boot needs that Bun does not expose, called through bun:ffi
// (sessions.c, signals.c, reap.c, spawn.c, machine.c, mapping.c, reexec.c, kernel-modules.c,
// flock.c, capabilities.c).
//
// Conventions: every function returns >= 0 on success and -errno on failure (never relies on the
// caller reading errno, which another thread may overwrite). Strings are NUL-terminated; string
// lists are passed as one blob of NUL-terminated strings plus a count.
#ifndef VB_SHIM_INTERNAL_H
#define VB_SHIM_INTERNAL_H

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

// Splits a blob of `count` NUL-terminated strings into out[0..count-1], with out[count] = NULL.
static inline int vb_split(const char *blob, int count, char **out) {
  const char *p = blob;
  for (int i = 0; i < count; i++) {
    out[i] = (char *)p;
    p += strlen(p) + 1;
  }
  out[count] = NULL;
  return 0;
}

// The address of a Unix socket path of any length (unix-addr.c): `*dirfd` (or -1) is closed by
// vb_unix_addr_done once bind(2)/connect(2) has used the address.
int vb_unix_addr(const char *path, struct sockaddr_un *sa, socklen_t *len, int *dirfd);
void vb_unix_addr_done(int dirfd);
// 1: a live socket of `type` at `path`; 0: none or a stale file; else -errno.
int vb_unix_in_use(const char *path, int type);
int vb_unix_connect_probe(const char *path);
// Whether `fd` is a Unix socket of `type` bound to `path` ("@name": abstract), listening or not (-1: either); 0 or -errno.
int vb_unix_socket_at(int fd, const char *path, int type, int listening);

// The files execvp(3) would try for `file`, in order (exec-path.c): a malloc'd blob of *count paths.
int vb_exec_candidates(const char *file, char *const envp[], int dirfd, char **out, int *count, int *eacces);

// Thread `tid` (0: the caller) under SCHED_FIFO `prio` with SCHED_RESET_ON_FORK, or back to
// SCHED_OTHER for 0, keeping SCHED_RESET_ON_FORK when `keep_reset` or when it cannot be cleared
// (sleeper.c). 0 or -errno.
int vb_sched_fifo(pid_t tid, int prio, int keep_reset);

// signals.c: a live re-exec carries the counted signals JavaScript has not taken (see there).
void vb_sig_carry_begin(const sigset_t *carry);
void vb_sig_carry_end(void);

#endif
