// Unix socket addresses for any path: one that does not fit sun_path (107 bytes + NUL) goes through /proc/self/fd/N of its directory.
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim-internal.h"

// Fills `sa` and `*len` for `path`. "@name" is an abstract address (name after a NUL byte, not a
// file). A path that fits is used as it is. A longer one is reached through its directory: an
// O_PATH descriptor of the directory (no read permission needed; close-on-exec, so no child
// inherits it) and "/proc/self/fd/N/<file name>", which the kernel resolves to the same place, so
// bind(2) makes the socket file at the real path and connect(2) reaches it there. The descriptor is
// returned in `*dirfd` (-1 when none); the caller closes it once bind/connect is done (vb_unix_addr_done).
// Returns 0 or -errno: -ENAMETOOLONG when even the alias does not fit (a file name over ~80 bytes),
// -ENOENT/-EACCES/... from opening the directory, -EINVAL for an empty path or name.
int vb_unix_addr(const char *path, struct sockaddr_un *sa, socklen_t *len, int *dirfd) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  *dirfd = -1;
  size_t n = strlen(path);
  if (n == 0) return -EINVAL;
  if (path[0] == '@') {
    if (n - 1 > sizeof sa->sun_path - 1 || n == 1) return n == 1 ? -EINVAL : -ENAMETOOLONG;
    memcpy(sa->sun_path + 1, path + 1, n - 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    return 0;
  }
  if (n < sizeof sa->sun_path) {
    memcpy(sa->sun_path, path, n);
    *len = (socklen_t)sizeof *sa;
    return 0;
  }
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (*name == '\0') return -EINVAL;
  char dir[4096];
  size_t dn = slash ? (size_t)(slash - path) : 0;
  if (dn >= sizeof dir) return -ENAMETOOLONG;
  if (!slash) strcpy(dir, ".");
  else if (dn == 0) strcpy(dir, "/");
  else {
    memcpy(dir, path, dn);
    dir[dn] = '\0';
  }
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int w = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", fd, name);
  if (w < 0 || (size_t)w >= sizeof sa->sun_path) {
    close(fd);
    return -ENAMETOOLONG;
  }
  *len = (socklen_t)sizeof *sa;
  *dirfd = fd;
  return 0;
}

void vb_unix_addr_done(int dirfd) {
  if (dirfd >= 0) close(dirfd);
}

// One nonblocking connect of a new socket of `type` to `sa`, closed at once: 0 when it got through
// (or is under way), else -errno as connect(2) gave it.
static int connect_once(const struct sockaddr_un *sa, socklen_t salen, int type) {
  int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int r = connect(fd, (const struct sockaddr *)sa, salen) == 0 || errno == EINPROGRESS ? 0 : -errno;
  close(fd);
  return r;
}

// Whether a socket of `type` (SOCK_STREAM, SOCK_DGRAM) at `path` has a live owner: 1 when a connect
// succeeds (or the backlog is full: EAGAIN), 0 when nobody listens there (ECONNREFUSED: a stale file
// of a process that is gone) or there is no such file, else -errno. An init replaced the socket of
// another init that ran with the same run_dir, which then had no control or evolution socket.
int vb_unix_in_use(const char *path, int type) {
  struct sockaddr_un sa;
  socklen_t salen;
  int dirfd;
  int r = vb_unix_addr(path, &sa, &salen, &dirfd);
  if (r < 0) return r;
  r = connect_once(&sa, salen, type);
  r = r == 0 || r == -EAGAIN ? 1 : r == -ECONNREFUSED || r == -ENOENT ? 0 : r;
  vb_unix_addr_done(dirfd);
  return r;
}

// One nonblocking connect to the stream socket at `path`, closed at once: 0 when it got through (or is
// under way), else -errno as connect(2) gave it: -EAGAIN for a listener whose backlog is full (node:net
// and Bun report that as ECONNREFUSED, the same as a stale file with no listener), -ECONNREFUSED for
// nobody listening, -ENOENT, -EACCES ... For the control client's error after a refused connect.
int vb_unix_connect_probe(const char *path) {
  struct sockaddr_un sa;
  socklen_t salen;
  int dirfd;
  int r = vb_unix_addr(path, &sa, &salen, &dirfd);
  if (r < 0) return r;
  r = connect_once(&sa, salen, SOCK_STREAM);
  vb_unix_addr_done(dirfd);
  return r;
}

// Whether `fd` is an AF_UNIX socket of `type` (SOCK_STREAM, SOCK_DGRAM) whose own address (for an
// accepted connection: its listener's) is `path` ("@name": that abstract address), listening
// (`listening` 1) or not (0), either (-1). A path longer than sun_path was bound through
// "/proc/self/fd/N/<name>" of its directory (vb_unix_addr): that name is matched by its file name.
// Returns 0, or -EBADF (not open), -ENOTSOCK, -EAFNOSUPPORT (not AF_UNIX), -EPROTOTYPE (another
// type), -EINVAL (listening is not as asked), -EADDRNOTAVAIL (bound to another address, or unbound).
int vb_unix_socket_at(int fd, const char *path, int type, int listening) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  if (!S_ISSOCK(st.st_mode)) return -ENOTSOCK;
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0) return -errno;
  if (v != AF_UNIX) return -EAFNOSUPPORT;
  len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0) return -errno;
  if (v != type) return -EPROTOTYPE;
  if (listening >= 0) {
    len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0) return -errno;
    if (!v != !listening) return -EINVAL;
  }
  struct sockaddr_un sa;
  socklen_t salen = sizeof sa;
  memset(&sa, 0, sizeof sa);
  if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) return -errno;
  size_t off = offsetof(struct sockaddr_un, sun_path);
  if (path[0] == '@') {
    size_t n = strlen(path + 1);
    int same = salen == off + 1 + n && sa.sun_path[0] == '\0' && memcmp(sa.sun_path + 1, path + 1, n) == 0;
    return same ? 0 : -EADDRNOTAVAIL;
  }
  size_t n = salen > off ? strnlen(sa.sun_path, sizeof sa.sun_path) : 0;
  if (n == 0) return -EADDRNOTAVAIL; // unbound or abstract
  char bound[sizeof sa.sun_path + 1];
  memcpy(bound, sa.sun_path, n);
  bound[n] = '\0';
  if (strcmp(bound, path) != 0) {
    const char *name = strrchr(path, '/');
    const char *bname = strrchr(bound, '/');
    int alias = strlen(path) >= sizeof sa.sun_path && strncmp(bound, "/proc/self/fd/", 14) == 0;
    if (!alias || !name || !bname || strcmp(name, bname) != 0) return -EADDRNOTAVAIL;
  }
  return 0;
}
