// epoll readiness without waiting (the control socket's connections, the service log pipes): which of many descriptors to read, in one syscall.
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>

// An epoll set, close-on-exec (the next image of a live re-exec builds its own). Returns its fd or -errno.
int vb_epoll_create(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  return ep < 0 ? -errno : ep;
}

// Adds (op 1), deletes (2) or modifies (3) `fd` in `ep` with the epoll event mask `events`.
int vb_epoll_ctl(int ep, int op, int fd, int events) {
  struct epoll_event ev = {.events = (uint32_t)events, .data.fd = fd};
  return epoll_ctl(ep, op, fd, &ev) < 0 ? -errno : 0;
}

// The fds of `ep` that are ready now (never waits): fds[i], events[i]. Returns how many.
int vb_epoll_ready(int ep, int32_t *fds, uint32_t *events, int max) {
  struct epoll_event evs[256];
  if (max > 256) max = 256;
  int n = epoll_wait(ep, evs, max, 0);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    fds[i] = evs[i].data.fd;
    events[i] = evs[i].events;
  }
  return n;
}
