// The descriptors this process was started with, from 4 up: Bun made them close-on-exec; tini mode hands them on to CMD.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim-internal.h"

// Bun's start-up marks every descriptor from 4 up close-on-exec (close_range(4, ~0U,
// CLOSE_RANGE_CLOEXEC)), the caller's among them: CMD, which tini and dumb-init start with every
// descriptor they were given, lost all but 0-3. Called before the init opens any of its own, this
// clears the flag on each one open from 4 up, except the runtime's (anon inodes: its epoll and
// eventfd) and the shim's memfd copy. Returns how many it cleared, or -errno (no /proc).
int vb_keep_inherited_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return -errno;
  int own = dirfd(dir), kept = 0;
  struct dirent *e;
  char link[48], target[64];
  while ((e = readdir(dir)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd < 4 || fd == own) continue;
    snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);  // a longer target is cut: only its start is compared
    if (n < 0) continue;
    target[n] = '\0';
    if (strncmp(target, "anon_inode:", 11) == 0 || strncmp(target, "/memfd:vector-boot-shim", 23) == 0) continue;
    int flags = fcntl((int)fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC) == 0) continue;
    if (fcntl((int)fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) kept++;
  }
  closedir(dir);
  return kept;
}
