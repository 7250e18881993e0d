// cgroup v2: a service's child joins its cgroup between fork and anything else (so it cannot fork first).
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int vb_spawn(const char *argv_blob, int argc, const char *env_blob, int envc, const char *cwd, int uid, int gid,
             const uint32_t *groups, int ngroups, int flags, int fd0, int fd1, int fd2, double caps_d,
             const uint32_t *ignored);

// The cgroup.procs file the next vb_spawn child writes itself into (-1: stays in ours).
// Only set while vb_spawn_in_cgroup runs, on the calling thread.
static __thread int next_procs_fd = -1;

// Called first in the child of vb_spawn (spawn.c), before it runs anything of the service: it moves
// itself into the cgroup ("0" to cgroup.procs), so nothing it forks can be left outside. On failure
// it reports stage 8 (joining the cgroup) and errno on `errfd`, as vb_child does, and exits.
// Only async-signal-safe calls: the child shares the init's memory until it execs (CLONE_VM).
void vb_child_join_cgroup(int errfd) {
  int procs = next_procs_fd;
  if (procs < 0) return;
  ssize_t w;
  do w = write(procs, "0", 1);
  while (w < 0 && errno == EINTR);
  if (w != 1) {
    int report[2] = {8, w < 0 ? errno : EIO};
    ssize_t r = write(errfd, report, sizeof report);
    (void)r;
    _exit(127);
  }
  close(procs);
}

// vb_spawn with the child placed in the cgroup directory `cgdir` before it can run or fork.
// Returns what vb_spawn returns; a cgroup.procs that cannot be opened is reported as stage 8.
int vb_spawn_in_cgroup(const char *cgdir, const char *argv_blob, int argc, const char *env_blob, int envc,
                       const char *cwd, int uid, int gid, const uint32_t *groups, int ngroups, int flags, int fd0,
                       int fd1, int fd2, double caps_d, const uint32_t *ignored) {
  char path[4096];
  size_t n = strlen(cgdir);
  if (n + sizeof "/cgroup.procs" > sizeof path) return -(8000 + ENAMETOOLONG);
  memcpy(path, cgdir, n);
  memcpy(path + n, "/cgroup.procs", sizeof "/cgroup.procs");
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -(8000 + errno);
  next_procs_fd = fd;
  int r = vb_spawn(argv_blob, argc, env_blob, envc, cwd, uid, gid, groups, ngroups, flags, fd0, fd1, fd2, caps_d,
                   ignored);
  next_procs_fd = -1;
  close(fd);
  return r;
}
