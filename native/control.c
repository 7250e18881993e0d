// Control socket syscalls Bun lacks: Unix listen/accept with SO_PEERCRED + SO_PEERGROUPS, readiness via epoll + O_ASYNC, the check of a listener handed over at a re-exec (returns -errno).
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim-internal.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

// Asks the kernel to send signal `sig` to this process whenever `fd` becomes readable or writable
// (O_ASYNC + F_SETOWN + F_SETSIG). With a signal whose default action is "ignore" (SIGURG), a
// notification that arrives while no handler is installed is harmless.
static int async_notify(int fd, int sig) {
  if (sig <= 0) return 0;
  if (fcntl(fd, F_SETOWN, getpid()) < 0) return -errno;
  if (fcntl(fd, F_SETSIG, sig) < 0) return -errno;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_ASYNC | O_NONBLOCK) < 0) return -errno;
  return 0;
}

// The same for any descriptor the init reads without blocking (service log pipes, the sd_notify
// socket): `sig` when it becomes readable (a pipe also when its last writer closes).
// `sig` 0: no more signals for `fd` (O_ASYNC off).
int vb_fd_wake_signal(int fd, int sig) {
  if (sig > 0) return async_notify(fd, sig);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_ASYNC) < 0) return -errno;
  return 0;
}

// Creates a nonblocking, close-on-exec Unix stream socket bound to `path` with file mode `mode`,
// listening with `backlog`. The mode is set between bind and listen, so nobody can connect before
// it holds. A path longer than sun_path is bound through its directory (vb_unix_addr); the file is
// still made at `path`. `sig` > 0: readiness notifications by that signal. Returns the fd.
int vb_ctl_listen(const char *path, int mode, int backlog, int sig) {
  struct sockaddr_un sa;
  socklen_t salen;
  int dirfd;
  int r = vb_unix_addr(path, &sa, &salen, &dirfd);
  if (r < 0) return r;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) r = -errno;
  else if (bind(fd, (struct sockaddr *)&sa, salen) < 0) r = -errno;
  else if (chmod(path, (mode_t)mode) < 0) r = -errno;
  else if (listen(fd, backlog) < 0) r = -errno;
  else r = async_notify(fd, sig);
  vb_unix_addr_done(dirfd);
  if (r < 0) {
    if (fd >= 0) close(fd);
    return r;
  }
  return fd;
}

// Whether `fd`, inherited from the previous image at a live re-exec, is the listening control
// socket it handed over: a listening AF_UNIX stream socket bound to `path`, whose socket file is
// still there. Returns 0, or vb_unix_socket_at's -errno (-EINVAL: not listening), or -ENOENT (its
// socket file is gone).
int vb_ctl_is_listener(int fd, const char *path) {
  int r = vb_unix_socket_at(fd, path, SOCK_STREAM, 1);
  if (r < 0) return r;
  struct stat st;
  if (lstat(path, &st) < 0) return -errno;
  return S_ISSOCK(st.st_mode) ? 0 : -ENOENT;
}

// Whether `fd`, inherited from the previous image at a live re-exec, is a connection it handed over
// that was accepted on the listener bound to `path` (the kernel names an accepted socket by its
// listener's address): a connected, not listening AF_UNIX stream socket. Its socket file may be gone.
// Returns 0, or vb_unix_socket_at's -errno (-EINVAL: a listening socket), or -ENOTCONN (not connected).
int vb_ctl_is_accepted(int fd, const char *path) {
  int r = vb_unix_socket_at(fd, path, SOCK_STREAM, 0);
  if (r < 0) return r;
  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  return getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 ? -errno : 0;
}

// The supplementary groups the peer had when it called connect(2) (the kernel keeps the
// connecting task's credentials with the socket; a later setgroups or exit of the peer changes
// nothing here). The first getsockopt uses a small buffer; when the peer has more groups it fails
// with ERANGE and sets `len` to the size needed, and the second call uses a buffer of that size.
// Writes at most `max` gids to `out`. Returns how many, or -errno (-ENOPROTOOPT: kernel < 4.13;
// -E2BIG: more than `max`).
static int peer_groups(int fd, int32_t *out, int max) {
  gid_t small[32];
  gid_t *buf = small;
  socklen_t len = sizeof small;
  int r;
  for (int tries = 0;; tries++) {
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf, &len) == 0) {
      int n = (int)(len / sizeof(gid_t));
      if (n > max) r = -E2BIG;
      else {
        for (int i = 0; i < n; i++) out[i] = (int32_t)buf[i];
        r = n;
      }
      break;
    }
    r = -errno;
    // ERANGE: `len` now holds the size needed (the credentials are fixed, so one retry suffices;
    // more tries are only a bound).
    if (r != -ERANGE || tries >= 3 || len == 0) break;
    if (buf != small) free(buf);
    buf = malloc(len);
    if (!buf) {
      r = -ENOMEM;
      break;
    }
  }
  if (buf != small) free(buf);
  return r;
}

// Accepts one connection (nonblocking, close-on-exec) and reads its peer's credentials as they
// were at connect time: cred[0] = pid, cred[1] = uid, cred[2] = gid (SO_PEERCRED), cred[3] = the
// number of supplementary groups written to `groups` (SO_PEERGROUPS, at most `max_groups`), or -1
// when the kernel does not offer SO_PEERGROUPS. Adds the fd to epoll set `ep` for input (and
// hang-up) and enables signal notifications. Returns the fd, or -EAGAIN when none is waiting.
int vb_ctl_accept(int lfd, int ep, int sig, int32_t *cred, int32_t *groups, int max_groups) {
  int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return -errno;
  struct ucred uc;
  socklen_t len = sizeof uc;
  int r = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) r = -errno;
  if (r == 0) {
    cred[0] = uc.pid;
    cred[1] = (int32_t)uc.uid;
    cred[2] = (int32_t)uc.gid;
    int n = peer_groups(fd, groups, max_groups);
    if (n == -ENOPROTOOPT) n = -1;
    else if (n < 0) r = n;
    cred[3] = n;
  }
  if (r == 0) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) r = -errno;
  }
  if (r == 0) r = async_notify(fd, sig);
  if (r < 0) {
    close(fd);
    return r;
  }
  return fd;
}

// Nonblocking write without SIGPIPE: bytes written (maybe fewer than len), -EAGAIN when full.
int vb_ctl_write(int fd, const uint8_t *buf, int len) {
  ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
  return n < 0 ? -errno : (int)n;
}

// Ends our sending side (the peer reads what was sent, then end of stream).
int vb_ctl_shutdown_write(int fd) { return shutdown(fd, SHUT_WR) < 0 ? -errno : 0; }
