// sd_notify receiver: a Unix datagram socket whose messages carry the sender's kernel-checked credentials (SCM_CREDENTIALS).
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim-internal.h"

// Linux 6.5+ (SO_PASSPIDFD, SCM_PIDFD) and 6.13+ (PIDFD_GET_INFO; 6.15+ answers for a process that
// has exited and been reaped, with the cgroup it was in): not in every libc's headers yet.
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
struct vb_pidfd_info {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
#define VB_PIDFD_GET_INFO _IOWR(0xFF, 11, struct vb_pidfd_info)
#define VB_PIDFD_INFO_CGROUPID (1ULL << 2)
#define VB_PIDFD_INFO_EXIT (1ULL << 3)

// The cgroup v2 id (the inode of its directory) `pidfd`'s process is in, or was in when it exited;
// 0 when the kernel cannot say (before 6.13, or no cgroup v2).
static uint64_t pidfd_cgroup(int pidfd) {
  struct vb_pidfd_info info;
  memset(&info, 0, sizeof info);
  info.mask = VB_PIDFD_INFO_CGROUPID | VB_PIDFD_INFO_EXIT;
  if (ioctl(pidfd, VB_PIDFD_GET_INFO, &info) < 0 || !(info.mask & VB_PIDFD_INFO_CGROUPID)) return 0;
  return info.cgroupid;
}

// Binds a nonblocking, close-on-exec datagram socket at `path` (replacing a stale file) with
// SO_PASSCRED, so every message comes with its sender's pid, uid and gid, and SO_PASSPIDFD where the
// kernel has it (6.5+), so it also comes with a pidfd that still names the sender once it has exited. "@name" binds an abstract
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
    // Older kernels refuse the option (ENOPROTOOPT): their messages carry the pid alone.
    if (r == 0) (void)setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof one);
  }
  vb_unix_addr_done(dirfd);
  if (r < 0) {
    if (fd >= 0) close(fd);
    return r;
  }
  return fd;
}

// Receives one datagram into buf (at most len bytes). cred[0..2] = sender's
// pid, uid, gid as the kernel saw them (pid 0 when none came); cred[3..4] = the low and high 32 bits
// of the cgroup v2 id the sender is or was in, from its pidfd (0 when the kernel cannot say). A
// sender that has already exited (`systemd-notify --no-block` in a script) has no /proc entry left,
// but its pidfd still says where it ran. Returns its length (its real length, over `len`, when it was
// longer than buf: only its first `len` bytes are there; the caller drops it, as systemd drops an
// overly long notification), or -EAGAIN when nothing waits, or -errno.
int vb_notify_recv(int fd, uint8_t *buf, int len, int32_t *cred) {
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)len};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int) * 16)];
  } ctl;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.b;
  msg.msg_controllen = sizeof ctl.b;
  ssize_t r;
  do r = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  cred[0] = 0;
  cred[1] = -1;
  cred[2] = -1;
  cred[3] = 0;
  cred[4] = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred u;
      memcpy(&u, CMSG_DATA(c), sizeof u);
      cred[0] = u.pid;
      cred[1] = (int32_t)u.uid;
      cred[2] = (int32_t)u.gid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_PIDFD && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int pidfd;
      memcpy(&pidfd, CMSG_DATA(c), sizeof pidfd);
      uint64_t id = pidfd_cgroup(pidfd);
      close(pidfd);
      cred[3] = (int32_t)(uint32_t)(id & 0xffffffffu);
      cred[4] = (int32_t)(uint32_t)(id >> 32);
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

// Whether `fd`, inherited from the previous image at a live re-exec, is the sd_notify socket it
// handed over: an AF_UNIX datagram socket bound to `address` ("@name": abstract) whose socket file,
// for a path, is still there (messages sent to the path reach it). Returns 0, or
// vb_unix_socket_at's -errno, or -ENOENT (its socket file is gone or is no socket).
int vb_notify_is_socket(int fd, const char *address) {
  int r = vb_unix_socket_at(fd, address, SOCK_DGRAM, -1);
  if (r < 0 || address[0] == '@') return r;
  struct stat st;
  if (lstat(address, &st) < 0) return -errno;
  return S_ISSOCK(st.st_mode) ? 0 : -ENOENT;
}
