// sd_notify receiver: a Unix datagram socket whose messages carry the sender's kernel-checked credentials (SCM_CREDENTIALS).
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim-internal.h"

// Binds a nonblocking, close-on-exec datagram socket at `path` (replacing a stale file) with
// SO_PASSCRED, so every message comes with its sender's pid, uid and gid. "@name" binds an abstract
// address (no file, so nothing to replace and no mode). A path longer than sun_path is bound through
// its directory (vb_unix_addr). Returns the fd or -errno.
int vb_notify_open(const char *path, int mode) {
  struct sockaddr_un addr;
  socklen_t len;
  int dirfd;
  int r = vb_unix_addr(path, &addr, &len, &dirfd);
  if (r < 0) return r;
  int abstract = path[0] == '@';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0) r = -errno;
  else {
    // A stale file is replaced; a live one belongs to another init with the same run_dir.
    int live = abstract ? 0 : vb_unix_in_use(path, SOCK_DGRAM);
    if (live == 1) r = -EADDRINUSE;
    else if (!abstract) unlink(path);
    if (r == 0 && (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 || bind(fd, (struct sockaddr *)&addr, len) < 0 ||
                   (!abstract && chmod(path, (mode_t)mode) < 0)))
      r = -errno;
  }
  vb_unix_addr_done(dirfd);
  if (r < 0) {
    if (fd >= 0) close(fd);
    return r;
  }
  return fd;
}

// Receives one datagram into buf (at most len bytes; longer ones are cut). cred[0..2] = sender's
// pid, uid, gid as the kernel saw them (pid 0 when none came). Returns its length, or -EAGAIN when
// nothing waits, or -errno.
int vb_notify_recv(int fd, uint8_t *buf, int len, int32_t *cred) {
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)len};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
  } ctl;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.b;
  msg.msg_controllen = sizeof ctl.b;
  ssize_t r;
  do r = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  cred[0] = 0;
  cred[1] = -1;
  cred[2] = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred u;
      memcpy(&u, CMSG_DATA(c), sizeof u);
      cred[0] = u.pid;
      cred[1] = (int32_t)u.uid;
      cred[2] = (int32_t)u.gid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      // File descriptors (FDSTORE=1) are not kept: close what came.
      int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < nfd; i++) {
        int x;
        memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof x);
        close(x);
      }
    }
  }
  return (int)r;
}

int vb_notify_close(int fd) { return close(fd) < 0 ? -errno : 0; }
