// Service output pipes: created close-on-exec with a nonblocking read end (read with vb_read_ready, native/fds.c).
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

// fds[0] = read end (nonblocking), fds[1] = write end (blocking for the service). Returns 0 or -errno.
int vb_log_pipe(int32_t *fds) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return -e;
  }
  // A bigger buffer lets a service write bursts while PID 1 is busy (best effort: 1 MiB max by default).
  fcntl(p[0], F_SETPIPE_SZ, 256 * 1024);
  fds[0] = p[0];
  fds[1] = p[1];
  return 0;
}
