// Spawning: clone(CLONE_VM|CLONE_VFORK) + exec with a clean signal state, session/group, ids, capabilities, cwd and stdio.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim-internal.h"

#define VB_SPAWN_NEW_SESSION 1
#define VB_SPAWN_NEW_PGROUP 2
#define VB_SPAWN_FOREGROUND 4
#define VB_SPAWN_SET_IDS 8
#define VB_SPAWN_NO_NEW_PRIVS 16
#define VB_SPAWN_PARENT_DEATH_KILL 32
#define VB_SPAWN_SET_CAPS 64
#define VB_SPAWN_SH_FALLBACK 128

// Sets the effective/permitted/inheritable capability sets to `keep` (bit n = capability n).
static int vb_capset(uint64_t keep) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
  data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
  return (int)syscall(SYS_capset, &hdr, data);
}

// Child side of vb_spawn: only async-signal-safe calls. Reports (stage, errno) on the pipe.
static void vb_child(int errfd, const char *paths, int npaths, int eacces, char **argv, char **sh_argv, char **envp, const char *cwd,
                     int uid, int gid, const uint32_t *groups, int ngroups, int flags, int fd0, int fd1, int fd2, uint64_t caps,
                     uint64_t ignored) {
  int stage = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  // Default dispositions, except the signals in `ignored` (bit n-1 = signal n), which stay ignored
  // (e.g. SIGHUP under nohup, as the caller of tini mode had it).
  for (int s = 1; s < NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sa.sa_handler = (s <= 64 && (ignored & ((uint64_t)1 << (s - 1)))) ? SIG_IGN : SIG_DFL;
    sigaction(s, &sa, NULL);
  }

  stage = 1;
  if (flags & VB_SPAWN_NEW_SESSION) {
    if (setsid() < 0) goto fail;
  } else if (flags & VB_SPAWN_NEW_PGROUP) {
    if (setpgid(0, 0) < 0) goto fail;
  }
  stage = 2;
  if ((flags & VB_SPAWN_FOREGROUND) && isatty(STDIN_FILENO)) {
    // SIGTTOU is still blocked here (the parent blocked all signals around fork).
    tcsetpgrp(STDIN_FILENO, getpgrp());
  }
  stage = 3;
  int fds[3] = {fd0, fd1, fd2};
  for (int i = 0; i < 3; i++) {
    if (fds[i] >= 0 && fds[i] != i) {
      if (dup2(fds[i], i) < 0) goto fail;
    }
  }
  stage = 4;
  if (cwd && cwd[0] && chdir(cwd) < 0) goto fail;
  stage = 5;
  if (flags & VB_SPAWN_SET_CAPS) {
    // Least privilege: the bounding set keeps only `caps`; they survive a uid change (keepcaps).
    // An init without CAP_SETPCAP (a development boot as a normal user) cannot narrow the bounding
    // set: no_new_privs then keeps the service from gaining through setuid or file capabilities
    // what the bounding set would have kept from it (its own sets are emptied below either way).
    int narrowed = 1;
    for (int c = 0; c < 64 && narrowed; c++) {
      if (!(caps & ((uint64_t)1 << c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
        if (errno != EPERM) goto fail;
        narrowed = 0;
      }
    }
    if (!narrowed && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;
    if (caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) goto fail;
  }
  if (flags & VB_SPAWN_SET_IDS) {
    // Raw system calls: glibc's setuid/setgid/setgroups would broadcast the change to every thread
    // it knows of, and this child shares the init's memory (its thread list) until it execs.
    if (syscall(SYS_setgroups, (size_t)ngroups, (const gid_t *)groups) < 0) goto fail;
    if (syscall(SYS_setresgid, (gid_t)gid, (gid_t)gid, (gid_t)gid) < 0) goto fail;
    if (syscall(SYS_setresuid, (uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) goto fail;
  }
  if (flags & VB_SPAWN_SET_CAPS) {
    if (vb_capset(caps) < 0) goto fail;
    // Ambient capabilities carry `caps` across execve for a non-root uid.
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int c = 0; c < 64; c++)
      if ((caps & ((uint64_t)1 << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) goto fail;
  }
  stage = 6;
  if ((flags & VB_SPAWN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;
  if ((flags & VB_SPAWN_PARENT_DEATH_KILL) && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) goto fail;
  stage = 7;
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, NULL);
  // As execvp(3) does (tini and dumb-init exec through it): each file PATH gave, in order, until one
  // runs; after ENOENT (its #! interpreter or ELF loader is missing) or EACCES the next is tried,
  // any other failure is the answer; EACCES is reported when nothing ran and one said so.
  int stopped = 0;
  for (const char *path = paths; npaths-- > 0 && !stopped; path += strlen(path) + 1) {
    execve(path, argv, envp);
    // A file the kernel cannot run as a program (a script without "#!") is run by /bin/sh instead.
    if (errno == ENOEXEC && sh_argv) {
      sh_argv[1] = (char *)path;
      execve(sh_argv[0], sh_argv, envp);
      errno = ENOEXEC;  // no /bin/sh (a distroless image): report the file's own failure
    }
    if (errno == EACCES) eacces = 1;
    else if (errno != ENOENT && errno != ESTALE && errno != ENOTDIR && errno != ENODEV && errno != ETIMEDOUT) stopped = 1;
  }
  if (!stopped && eacces) errno = EACCES;
fail:;
  int report[2] = {stage, errno};
  ssize_t w = write(errfd, report, sizeof report);
  (void)w;
  _exit(127);
}

void vb_child_join_cgroup(int errfd);  // native/cgroup.c: a service's child joins its cgroup first

struct vb_child_args {
  int pipe_read, errfd;
  const char *paths;
  int npaths, eacces;
  char **argv, **sh_argv, **envp;
  const char *cwd;
  int uid, gid;
  const uint32_t *groups;
  int ngroups, flags, fd0, fd1, fd2;
  uint64_t caps, ignored;
};

static int vb_child_main(void *p) {
  const struct vb_child_args *a = p;
  close(a->pipe_read);
  vb_child_join_cgroup(a->errfd);
  vb_child(a->errfd, a->paths, a->npaths, a->eacces, a->argv, a->sh_argv, a->envp, a->cwd, a->uid, a->gid, a->groups, a->ngroups,
           a->flags, a->fd0, a->fd1, a->fd2, a->caps, a->ignored);
  return 127;
}

// The child's own stack while it shares the init's memory (vb_child needs a few hundred bytes).
#define VB_CHILD_STACK (256 * 1024)

// Spawns a process. argv_blob/env_blob: `argc`/`envc` NUL-terminated strings back to back.
// argv[0] is resolved against PATH (from the new environment) when it has no slash.
// Returns the pid (> 0), or a negative value: -(stage * 1000 + errno) where stage 0 = resolve,
// 1 = setsid/setpgid, 3 = dup2, 4 = chdir, 5 = ids, 6 = prctl, 7 = execve, 9 = fork/pipe.
int vb_spawn(const char *argv_blob, int argc, const char *env_blob, int envc, const char *cwd, int uid, int gid,
             const uint32_t *groups, int ngroups, int flags, int fd0, int fd1, int fd2, double caps_d,
             const uint32_t *ignored_halves) {
  uint64_t caps = (uint64_t)caps_d;
  // The signals to keep ignored, as two 32-bit halves (low first): a double carried 53 bits, and
  // the caller's ignored real-time signals 54-64 were reset to default in the child.
  uint64_t ignored = ignored_halves ? ((uint64_t)ignored_halves[1] << 32) | ignored_halves[0] : 0;
  // No limit of our own on the counts: execve(2) answers E2BIG when they exceed the kernel's.
  if (argc < 1 || envc < 0) return -(0 * 1000 + EINVAL);
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  char **envp = calloc((size_t)envc + 1, sizeof(char *));
  if (!argv || !envp) {
    free(argv);
    free(envp);
    return -(9000 + ENOMEM);
  }
  vb_split(argv_blob, argc, argv);
  vb_split(env_blob, envc, envp);
  // Relative names are found where the child will start (its cwd), not where this process is.
  int dirfd = cwd && cwd[0] ? open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
  char *paths;
  int npaths, eacces;
  int rr = vb_exec_candidates(argv[0], envp, dirfd < 0 ? AT_FDCWD : dirfd, &paths, &npaths, &eacces);
  if (dirfd >= 0) close(dirfd);
  if (rr < 0) {
    free(argv);
    free(envp);
    return -(0 * 1000 + -rr);
  }
  // The execvp fallback's argv, built here: the child shares this memory and must not allocate.
  char **sh_argv = NULL;
  if (flags & VB_SPAWN_SH_FALLBACK) {
    sh_argv = calloc((size_t)argc + 2, sizeof(char *));
    if (!sh_argv) {
      free(argv);
      free(envp);
      free(paths);
      return -(9000 + ENOMEM);
    }
    sh_argv[0] = (char *)"/bin/sh";  // [1]: the file that needs it, set by the child
    for (int i = 1; i < argc; i++) sh_argv[i + 1] = argv[i];
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    int e = errno;
    free(argv);
    free(sh_argv);
    free(envp);
    free(paths);
    return -(9000 + e);
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // CLONE_VM | CLONE_VFORK, as posix_spawn does: no copy of the init's page tables (fork of a Bun
  // process with tens of MiB resident took 1-3 ms); this thread waits until the child has exec'd
  // or exited, while every signal is blocked (the child resets all dispositions before unblocking).
  struct vb_child_args args = {pipefd[0], pipefd[1], paths, npaths, eacces, argv, sh_argv, envp, cwd, uid, gid, groups, ngroups, flags, fd0, fd1, fd2, caps, ignored};
  void *stack = mmap(NULL, VB_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t pid = -1;
  if (stack != MAP_FAILED) pid = clone(vb_child_main, (char *)stack + VB_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int fork_errno = errno;
  if (stack != MAP_FAILED) munmap(stack, VB_CHILD_STACK);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pipefd[1]);
  free(argv);
  free(sh_argv);
  free(envp);
  free(paths);
  if (pid < 0) {
    close(pipefd[0]);
    return -(9000 + fork_errno);
  }
  // Parent: also set the group from this side to close the race with a signal to the group.
  if ((flags & VB_SPAWN_NEW_PGROUP) && !(flags & VB_SPAWN_NEW_SESSION)) setpgid(pid, pid);
  int report[2] = {0, 0};
  ssize_t n;
  do n = read(pipefd[0], report, sizeof report);
  while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  if (n == (ssize_t)sizeof report) {
    // The child failed before exec and exits at once: collect it so it never becomes a zombie.
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return -(report[0] * 1000 + report[1]);
  }
  return (int)pid;
}
