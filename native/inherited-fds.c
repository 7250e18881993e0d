// The descriptors this process was started with, from 4 up: Bun made them close-on-exec; tini mode hands them on to CMD.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim-internal.h"

#define KCMP_EPOLL_TFD 7

struct kcmp_epoll_slot {
  uint32_t efd, tfd, toff;
};

// The target of /proc/self/fd/FD (cut to the buffer: only its start is compared); 0 or -1.
static int link_of(int fd, char *target, size_t size) {
  char link[48];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, size - 1);
  if (n < 0) return -1;
  target[n] = '\0';
  return 0;
}

// Whether epoll EPFD has a registration under number TFD that is the file open here at TFD: the
// kernel compares them (kcmp); without kcmp, the same inode (anon inodes share one: it then trusts
// the number).
static int registered_here(int epfd, int tfd, unsigned long ino, unsigned sdev) {
  struct kcmp_epoll_slot slot = {(uint32_t)epfd, (uint32_t)tfd, 0};
  pid_t self = getpid();
  long r = syscall(SYS_kcmp, self, self, KCMP_EPOLL_TFD, (unsigned long)tfd, (unsigned long)&slot);
  if (r == 0) return 1;
  if (r > 0 || (errno != ENOSYS && errno != EPERM && errno != EACCES)) return 0;
  struct stat st;
  return fstat(tfd, &st) == 0 && st.st_ino == ino && major(st.st_dev) == (sdev >> 20) && minor(st.st_dev) == (sdev & 0xfffff);
}

// Marks in OWN[] the descriptors epoll EPFD watches under their numbers here (its fdinfo's `tfd:`
// lines); returns whether one of them is an eventfd (the runtime's loop wakes on one).
static int mark_watched(int epfd, unsigned char *own, int limit) {
  char path[48], line[256], target[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
  FILE *f = fopen(path, "re");
  if (f == NULL) return 0;
  int has_eventfd = 0;
  unsigned char *found = calloc((size_t)limit, 1);
  if (found == NULL) {
    fclose(f);
    return 0;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    int tfd;
    unsigned long ino = 0;
    unsigned sdev = 0;
    const char *p = strstr(line, "ino:");
    const char *s = strstr(line, "sdev:");
    if (sscanf(line, "tfd: %d", &tfd) != 1 || tfd < 0 || tfd >= limit || p == NULL || s == NULL) continue;
    ino = strtoul(p + 4, NULL, 16);
    sdev = (unsigned)strtoul(s + 5, NULL, 16);
    if (!registered_here(epfd, tfd, ino, sdev)) continue;
    found[tfd] = 1;
    if (link_of(tfd, target, sizeof target) == 0 && strcmp(target, "anon_inode:[eventfd]") == 0) has_eventfd = 1;
  }
  fclose(f);
  if (has_eventfd) {
    own[epfd] = 1;
    for (int i = 0; i < limit; i++) own[i] |= found[i];
  }
  free(found);
  return has_eventfd;
}

// Bun's start-up marks every descriptor from 4 up close-on-exec (close_range(4, ~0U,
// CLOSE_RANGE_CLOEXEC)), the caller's among them: CMD, which tini and dumb-init start with every
// descriptor they were given, lost all but 0-3. Called before the init opens any of its own, this
// clears the flag on each one open from 4 up except the runtime's and the shim's memfd copy. The
// runtime's are its event loop's epoll and what that watches (its wakeup eventfd): an epoll that
// watches an eventfd open here under the number it was added with (compared by the kernel, kcmp),
// and what it watches so. Every other anon inode (an eventfd, timerfd, signalfd, pidfd or epoll of
// the caller's) is inherited. Returns how many it cleared, or -errno (no /proc).
int vb_keep_inherited_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return -errno;
  int own_dir = dirfd(dir), kept = 0, n = 0, cap = 0, limit = 0;
  int *fds = NULL;
  char target[64];
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd < 0 || fd > 0x7ffffffe || fd == own_dir) continue;
    if (n == cap) {
      int *more = realloc(fds, sizeof(int) * (size_t)(cap = cap ? cap * 2 : 64));
      if (more == NULL) break;
      fds = more;
    }
    fds[n++] = (int)fd;
    if (fd >= limit) limit = (int)fd + 1;
  }
  closedir(dir);
  unsigned char *own = calloc((size_t)limit + 1, 1);
  if (own == NULL) {
    free(fds);
    return -ENOMEM;
  }
  for (int i = 0; i < n; i++) {
    if (link_of(fds[i], target, sizeof target) == 0 && strcmp(target, "anon_inode:[eventpoll]") == 0) mark_watched(fds[i], own, limit);
  }
  for (int i = 0; i < n; i++) {
    int fd = fds[i];
    if (fd < 4 || own[fd] || link_of(fd, target, sizeof target) != 0) continue;
    if (strncmp(target, "/memfd:vector-boot-shim", 23) == 0) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC) == 0) continue;
    if (fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) kept++;
  }
  free(own);
  free(fds);
  return kept;
}
