// Service output pipes: created close-on-exec with a nonblocking read end, read without ever waiting; an epoll set says which have data.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
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

// Reads what is there (at most len bytes): > 0 bytes, 0 at end of file, -EAGAIN when empty, or -errno.
int vb_log_read(int fd, uint8_t *buf, int len) {
  ssize_t n;
  do n = read(fd, buf, (size_t)len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int)n;
}


// A ready set (epoll, level-triggered, close-on-exec): which of many read ends have data or a closed
// writer, in one syscall instead of a read per pipe. Returns the epoll fd or -errno.
int vb_ready_set_new(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  return ep < 0 ? -errno : ep;
}

// on != 0: watch fd for input and hang-up; on == 0: stop watching it (before it is closed: a copy of
// the descriptor held by a child between fork and exec would keep a closed fd's entry alive). 0 or -errno.
int vb_ready_set_watch(int ep, int fd, int on) {
  struct epoll_event ev = {.events = EPOLLIN, .data = {.fd = fd}};
  return epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0 ? -errno : 0;
}

// The watched fds that are readable now (never waits), at most max, into fds. Returns the count or -errno.
int vb_ready_set_poll(int ep, int32_t *fds, int max) {
  struct epoll_event ev[256];
  if (max > 256) max = 256;
  int n;
  do n = epoll_wait(ep, ev, max, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) fds[i] = ev[i].data.fd;
  return n;
}
