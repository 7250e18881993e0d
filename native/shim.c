// shim.c: the system calls vector-boot needs that Bun does not expose, called through bun:ffi.
//
// Conventions: every function returns >= 0 on success and -errno on failure (never relies on the
// caller reading errno, which another thread may overwrite). Strings are NUL-terminated; string
// lists are passed as one blob of NUL-terminated strings plus a count.

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VB_SPAWN_NEW_SESSION 1
#define VB_SPAWN_NEW_PGROUP 2
#define VB_SPAWN_FOREGROUND 4
#define VB_SPAWN_SET_IDS 8
#define VB_SPAWN_NO_NEW_PRIVS 16
#define VB_SPAWN_PARENT_DEATH_KILL 32
#define VB_SPAWN_SET_CAPS 64

#define VB_MAX_ARGS 4096

// ---------------------------------------------------------------------------------------------
// Identity, sessions, process groups, signals

int vb_getpid(void) { return (int)getpid(); }
int vb_getppid(void) { return (int)getppid(); }

int vb_setsid(void) {
  pid_t r = setsid();
  return r < 0 ? -errno : (int)r;
}

int vb_setpgid(int pid, int pgid) { return setpgid(pid, pgid) < 0 ? -errno : 0; }

int vb_getpgid(int pid) {
  pid_t r = getpgid(pid);
  return r < 0 ? -errno : (int)r;
}

int vb_kill(int pid, int sig) { return kill(pid, sig) < 0 ? -errno : 0; }

int vb_isatty(int fd) { return isatty(fd) ? 1 : 0; }

int vb_tcgetpgrp(int fd) {
  pid_t r = tcgetpgrp(fd);
  return r < 0 ? -errno : (int)r;
}

int vb_tcsetpgrp(int fd, int pgrp) {
  // Called from a background process group: SIGTTOU must not stop us while we do it.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  int r = tcsetpgrp(fd, pgrp) < 0 ? -errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

// Sets SIG_IGN (how=1) or SIG_DFL (how=0) for a signal Bun does not handle itself.
int vb_signal_disposition(int sig, int how) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = how ? SIG_IGN : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

// Signal counters: a C handler only increments an atomic counter; JavaScript polls it.
// Used for SIGPWR (JSC's GC signal moved away with JSC_SIGNAL_FOR_GC) and other signals that
// Bun's process.on cannot deliver. No JavaScript ever runs inside a signal handler.
static atomic_uint_fast64_t vb_sig_counts[65];

static void vb_count_handler(int sig) {
  if (sig > 0 && sig < 65) atomic_fetch_add_explicit(&vb_sig_counts[sig], 1, memory_order_relaxed);
}

int vb_sigcount_install(int sig) {
  if (sig <= 0 || sig >= 65) return -EINVAL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = vb_count_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

// Counts a synchronous signal (SIGSEGV, SIGILL, ...) only when another process sent it with kill():
// dumb-init forwards those. A real fault, or one this process raised itself (abort), goes to the
// handler that was there before (Bun's crash handler): restored, then the fault re-executes or the
// signal is raised again once this handler returns.
static struct sigaction vb_sent_prev[65];

static void vb_sent_handler(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  if (sig <= 0 || sig >= 65) return;
  if (info && info->si_code <= 0 && info->si_pid != getpid()) {
    atomic_fetch_add_explicit(&vb_sig_counts[sig], 1, memory_order_relaxed);
    return;
  }
  sigaction(sig, &vb_sent_prev[sig], NULL);
  if (!info || info->si_code <= 0) raise(sig);
}

int vb_sigcount_install_sent(int sig) {
  if (sig <= 0 || sig >= 65) return -EINVAL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = vb_sent_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, &vb_sent_prev[sig]) < 0 ? -errno : 0;
}

double vb_sigcount_read(int sig) {
  if (sig <= 0 || sig >= 65) return -1;
  return (double)atomic_load_explicit(&vb_sig_counts[sig], memory_order_relaxed);
}

// Writes the calling process's signal state: [0]=blocked mask, [1]=ignored mask (bit n-1 = signal n).
int vb_signal_state(uint64_t *out) {
  sigset_t cur;
  if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0) return -EINVAL;
  uint64_t blocked = 0, ignored = 0;
  for (int s = 1; s < 65; s++) {
    if (s <= SIGRTMAX && sigismember(&cur, s) == 1) blocked |= (uint64_t)1 << (s - 1);
    struct sigaction sa;
    if (s <= SIGRTMAX && sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) ignored |= (uint64_t)1 << (s - 1);
  }
  out[0] = blocked;
  out[1] = ignored;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Reaping

// Reaps up to `max` exited children without blocking. Fills pids[i] and statuses[i] (raw wait
// status). Returns the number reaped (0 when none is ready or there are no children) or -errno.
int vb_reap(int32_t *pids, int32_t *statuses, int max) {
  int n = 0;
  while (n < max) {
    int status = 0;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p == 0) break;
    if (p < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break;
      return n > 0 ? n : -errno;
    }
    pids[n] = (int32_t)p;
    statuses[n] = (int32_t)status;
    n++;
  }
  return n;
}

// 1 when this process has at least one child (running, stopped or a zombie not yet reaped), 0 when it
// has none (ECHILD): with no child it has no descendant at all, so nothing is left to drain.
int vb_has_children(void) {
  siginfo_t info;
  for (;;) {
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0) return 1;
    if (errno == EINTR) continue;
    return errno == ECHILD ? 0 : -errno;
  }
}

// Waits for one specific child (flags: WNOHANG etc.). Returns pid, 0, or -errno; status in *status.
int vb_waitpid(int pid, int32_t *status, int flags) {
  int st = 0;
  pid_t p;
  do p = waitpid(pid, &st, flags);
  while (p < 0 && errno == EINTR);
  if (p < 0) return -errno;
  *status = st;
  return (int)p;
}

// ---------------------------------------------------------------------------------------------
// Spawning: fork + exec with a clean signal state, session/group, ids, cwd and stdio.

static int vb_split(const char *blob, int count, char **out) {
  const char *p = blob;
  for (int i = 0; i < count; i++) {
    out[i] = (char *)p;
    p += strlen(p) + 1;
  }
  out[count] = NULL;
  return 0;
}

// Resolves `file` against PATH (from envp, else a default) like execvp. Writes into buf.
// Returns 0, or -ENOENT / -EACCES describing the best failure.
static int vb_resolve(const char *file, char *const envp[], char *buf, size_t buflen) {
  if (strchr(file, '/')) {
    if (strlen(file) >= buflen) return -ENAMETOOLONG;
    strcpy(buf, file);
    if (access(buf, F_OK) != 0) return -errno;
    return 0;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
  int best = -ENOENT;
  const char *seg = path;
  while (1) {
    const char *end = strchr(seg, ':');
    size_t len = end ? (size_t)(end - seg) : strlen(seg);
    if (len + 1 + strlen(file) + 1 <= buflen) {
      if (len == 0) strcpy(buf, file);
      else {
        memcpy(buf, seg, len);
        buf[len] = '/';
        strcpy(buf + len + 1, file);
      }
      struct stat st;
      if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
        if (access(buf, X_OK) == 0) return 0;
        best = -EACCES;
      }
    }
    if (!end) break;
    seg = end + 1;
  }
  return best;
}

// Sets the effective/permitted/inheritable capability sets to `keep` (bit n = capability n).
static int vb_capset(uint64_t keep) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
  data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
  return (int)syscall(SYS_capset, &hdr, data);
}

// Drops every capability not in `keep` from the bounding set of the calling process (needs CAP_SETPCAP).
int vb_drop_bounding(double keep_d) {
  uint64_t keep = (uint64_t)keep_d;
  for (int c = 0; c < 64; c++) {
    if (keep & ((uint64_t)1 << c)) continue;
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) return -errno;
  }
  return 0;
}

// Child side of vb_spawn: only async-signal-safe calls. Reports (stage, errno) on the pipe.
static void vb_child(int errfd, const char *path, char **argv, char **envp, const char *cwd, int uid, int gid,
                     const uint32_t *groups, int ngroups, int flags, int fd0, int fd1, int fd2, uint64_t caps,
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
    for (int c = 0; c < 64; c++)
      if (!(caps & ((uint64_t)1 << c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) goto fail;
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
  execve(path, argv, envp);
fail:;
  int report[2] = {stage, errno};
  ssize_t w = write(errfd, report, sizeof report);
  (void)w;
  _exit(127);
}

void vb_child_join_cgroup(int errfd);  // native/cgroup.c: a service's child joins its cgroup first

struct vb_child_args {
  int pipe_read, errfd;
  const char *path;
  char **argv, **envp;
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
  vb_child(a->errfd, a->path, a->argv, a->envp, a->cwd, a->uid, a->gid, a->groups, a->ngroups, a->flags, a->fd0, a->fd1,
           a->fd2, a->caps, a->ignored);
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
             double ignored_d) {
  uint64_t caps = (uint64_t)caps_d;
  uint64_t ignored = (uint64_t)ignored_d;
  if (argc < 1 || argc > VB_MAX_ARGS || envc < 0 || envc > VB_MAX_ARGS) return -(0 * 1000 + E2BIG);
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  char **envp = calloc((size_t)envc + 1, sizeof(char *));
  if (!argv || !envp) {
    free(argv);
    free(envp);
    return -(9000 + ENOMEM);
  }
  vb_split(argv_blob, argc, argv);
  vb_split(env_blob, envc, envp);
  char path[PATH_MAX];
  int rr = vb_resolve(argv[0], envp, path, sizeof path);
  if (rr < 0) {
    free(argv);
    free(envp);
    return -(0 * 1000 + -rr);
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    int e = errno;
    free(argv);
    free(envp);
    return -(9000 + e);
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // CLONE_VM | CLONE_VFORK, as posix_spawn does: no copy of the init's page tables (fork of a Bun
  // process with tens of MiB resident took 1-3 ms); this thread waits until the child has exec'd
  // or exited, while every signal is blocked (the child resets all dispositions before unblocking).
  struct vb_child_args args = {pipefd[0], pipefd[1], path, argv, envp, cwd, uid, gid, groups, ngroups, flags, fd0, fd1, fd2, caps, ignored};
  void *stack = mmap(NULL, VB_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t pid = -1;
  if (stack != MAP_FAILED) pid = clone(vb_child_main, (char *)stack + VB_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int fork_errno = errno;
  if (stack != MAP_FAILED) munmap(stack, VB_CHILD_STACK);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pipefd[1]);
  free(argv);
  free(envp);
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

// ---------------------------------------------------------------------------------------------
// Machine: mounts, hostname, subreaper, reboot, sync, clocks

int vb_mount(const char *source, const char *target, const char *fstype, double flags, const char *data) {
  unsigned long fl = (unsigned long)flags;
  return mount(source, target, fstype && fstype[0] ? fstype : NULL, fl, data && data[0] ? data : NULL) < 0 ? -errno : 0;
}

int vb_umount(const char *target, int flags) { return umount2(target, flags) < 0 ? -errno : 0; }

int vb_mkdir(const char *path, int mode) { return mkdir(path, (mode_t)mode) < 0 ? -errno : 0; }

int vb_mknod(const char *path, int mode, int major, int minor) {
  return mknod(path, (mode_t)mode, makedev((unsigned)major, (unsigned)minor)) < 0 ? -errno : 0;
}

int vb_sethostname(const char *name, int len) { return sethostname(name, (size_t)len) < 0 ? -errno : 0; }

int vb_set_subreaper(int on) { return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) < 0 ? -errno : 0; }

int vb_is_subreaper(void) {
  int v = 0;
  return prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) < 0 ? -errno : v;
}

int vb_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0; }

// The signal this process gets when its parent dies (0 = none); tini's -p.
int vb_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0 ? -errno : 0; }

// cmd: 0 = power off, 1 = restart, 2 = halt, 3 = ctrl-alt-del sends SIGINT to init (CAD off).
// Refuses unless this process is PID 1 of its namespace (inside `unshare --pid` that ends the
// namespace, never the host).
int vb_reboot(int cmd) {
  if (getpid() != 1) return -EPERM;
  int how;
  switch (cmd) {
    case 0: how = RB_POWER_OFF; break;
    case 1: how = RB_AUTOBOOT; break;
    case 2: how = RB_HALT_SYSTEM; break;
    case 3: how = RB_DISABLE_CAD; break;
    default: return -EINVAL;
  }
  return reboot(how) < 0 ? -errno : 0;
}

void vb_sync(void) { sync(); }

double vb_clock_ns(int which) {
  struct timespec ts;
  clockid_t id = which == 1 ? CLOCK_BOOTTIME : which == 2 ? CLOCK_REALTIME : CLOCK_MONOTONIC;
  if (clock_gettime(id, &ts) != 0) return -1;
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Read-only file mapping (the model, mapped zero-copy; also from /proc/self/exe)

// Returns the file size in *size, or -errno.
int vb_file_size(const char *path, double *size) {
  struct stat st;
  if (stat(path, &st) < 0) return -errno;
  *size = (double)st.st_size;
  return 0;
}

// Maps [offset, offset+length) of `path` read-only and private. offset must be page-aligned.
// Returns the address (as a number) in *addr, or -errno.
int vb_mmap_ro(const char *path, double offset, double length, double *addr) {
  if (length <= 0) return -EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  void *p = mmap(NULL, (size_t)length, PROT_READ, MAP_PRIVATE, fd, (off_t)offset);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED) return -e;
  *addr = (double)(uintptr_t)p;
  return 0;
}

int vb_munmap(double addr, double length) {
  return munmap((void *)(uintptr_t)addr, (size_t)length) < 0 ? -errno : 0;
}

int vb_madvise(double addr, double length, int advice) {
  return madvise((void *)(uintptr_t)addr, (size_t)length, advice) < 0 ? -errno : 0;
}

long vb_page_size(void) { return sysconf(_SC_PAGESIZE); }

// Sets (on=1) or clears (on=0) FD_CLOEXEC: a descriptor handed to the next image at a re-exec.
int vb_set_cloexec(int fd, int on) {
  int f = fcntl(fd, F_GETFD);
  if (f < 0) return -errno;
  f = on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
  return fcntl(fd, F_SETFD, f) < 0 ? -errno : 0;
}

// Copies [offset, offset+length) of `path` into a new memfd sealed against any change of size or
// content (SHRINK|GROW|WRITE|SEAL), mode 0400. A mapping of it cannot SIGBUS when someone truncates
// or rewrites the file afterwards. Returns the fd (close-on-exec) or -errno (-EIO: the file shrank).
int vb_sealed_copy(const char *path, double offset_d, double length_d) {
  off_t offset = (off_t)offset_d;
  size_t length = (size_t)length_d;
  if (offset_d < 0 || length_d <= 0) return -EINVAL;
  int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return -errno;
  int fd = memfd_create("vector-boot-model", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  int e = 0;
  char *buf = NULL;
  if (fd < 0) {
    e = errno;
    goto out;
  }
  if (fchmod(fd, 0400) < 0 || ftruncate(fd, (off_t)length) < 0) {
    e = errno;
    goto out;
  }
  buf = malloc(1 << 20);
  if (!buf) {
    e = ENOMEM;
    goto out;
  }
  for (size_t done = 0; done < length;) {
    size_t want = length - done < (1u << 20) ? length - done : (1u << 20);
    ssize_t n = pread(src, buf, want, offset + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      e = n < 0 ? errno : EIO;
      goto out;
    }
    for (ssize_t w = 0; w < n;) {
      ssize_t k = pwrite(fd, buf + w, (size_t)(n - w), (off_t)(done + (size_t)w));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        e = k < 0 ? errno : EIO;
        goto out;
      }
      w += k;
    }
    done += (size_t)n;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) e = errno;
out:
  free(buf);
  close(src);
  if (e) {
    if (fd >= 0) close(fd);
    return -e;
  }
  return fd;
}

// ---------------------------------------------------------------------------------------------
// Re-exec: replaces this process image (same pid, children kept). Returns only on failure.
int vb_execve(const char *path, const char *argv_blob, int argc, const char *env_blob, int envc) {
  if (argc < 1 || argc > VB_MAX_ARGS || envc < 0 || envc > VB_MAX_ARGS) return -E2BIG;
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  char **envp = calloc((size_t)envc + 1, sizeof(char *));
  if (!argv || !envp) {
    free(argv);
    free(envp);
    return -ENOMEM;
  }
  vb_split(argv_blob, argc, argv);
  vb_split(env_blob, envc, envp);
  // execve resets caught signals to their default; for a namespace's init the kernel drops a signal
  // whose action is the default. The signals the init answers (shutdown, re-exec, SIGUSR1) are
  // blocked across the exec instead, so one that arrives before the new image has its handlers
  // stays pending and reaches them (Bun keeps the mask and the pending set until its loop waits).
  // Every other signal starts unblocked, as Bun expects. SIGPWR only when JSC_SIGNAL_FOR_GC moved
  // the garbage collector's thread-suspend signal elsewhere: blocked, it would stall the collector.
  sigset_t carry, old;
  sigemptyset(&carry);
  const int kept[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) sigaddset(&carry, kept[i]);
  const char *gc = getenv("JSC_SIGNAL_FOR_GC");
  if (gc && atoi(gc) > 0 && atoi(gc) != SIGPWR) sigaddset(&carry, SIGPWR);
  pthread_sigmask(SIG_SETMASK, &carry, &old);
  execve(path, argv, envp);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  free(argv);
  free(envp);
  return -e;
}

// ---------------------------------------------------------------------------------------------
// Kernel modules: finit_module on a file (flags 4 = MODULE_INIT_COMPRESSED_FILE for .xz/.zst/.gz).
int vb_finit_module(const char *path, const char *params, int flags) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  long r = syscall(SYS_finit_module, fd, params ? params : "", flags);
  int e = errno;
  close(fd);
  return r < 0 ? -e : 0;
}

// flock(2) on an open descriptor (op: LOCK_SH=1, LOCK_EX=2, LOCK_NB=4, LOCK_UN=8). 0 or -errno.
int vb_flock(int fd, int op) { return flock(fd, op) < 0 ? -errno : 0; }

// sync(2) on a detached thread, so a hung disk cannot block the event loop: vb_sync_start() starts it
// (returns 1 when one is already running), vb_sync_done() tells whether the last one returned.
static atomic_int vb_sync_running;
static void *vb_sync_thread(void *arg) {
  (void)arg;
  sync();
  atomic_store(&vb_sync_running, 0);
  return NULL;
}
int vb_sync_start(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&vb_sync_running, &expected, 1)) return 1;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int r = pthread_create(&t, &attr, vb_sync_thread, NULL);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    atomic_store(&vb_sync_running, 0);
    return -r;
  }
  return 0;
}
int vb_sync_done(void) { return atomic_load(&vb_sync_running) == 0; }

// ---------------------------------------------------------------------------------------------
// PID 1's own capabilities. Capability sets (and the bounding set) belong to each thread: capset(2)
// and PR_CAPBSET_DROP change the calling thread only, and Bun starts its threads (JIT, GC, allocator,
// worker pools) before any of our code runs, so they would keep everything. vb_restrict_caps(keep,
// out) restricts the calling thread and then every other thread of the process: each drops from
// its bounding set what `keep` lacks, then sets permitted = effective = keep (within what it
// holds) and inheritable empty (the ambient set follows). The other threads do it themselves, in
// a handler for signal 33: glibc keeps that signal unblocked in every thread (its own setxid
// broadcast works this way, so even threads that block everything else take it). The handler acts
// only on our own queued signal (SI_QUEUE, this process, a magic value) and hands anything else to
// the handler it replaced; that one is put back at the end. Threads are rescanned until a scan
// finds none that has not answered, so a thread created meanwhile cannot be missed (one created
// after its creator answered inherits the reduced sets). out[0] = threads restricted (this one
// included), out[1] = threads whose own capset failed, out[2] = threads alive that never answered
// (within ~1 s). Returns 0, or -errno when the calling thread itself could not be restricted
// (nothing else is tried then). Not async-signal-safe; call it from one thread at a time.
#include <dirent.h>
#include <stdio.h>

#define VB_CAPS_SIGNAL 33 /* glibc's SIGSETXID */
#define VB_CAPS_MAGIC 0x76624350 /* "vbCP" */
#define VB_CAPS_MAX_THREADS 1024
#define VB_SA_RESTORER 0x04000000

struct vb_kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};

static _Atomic uint64_t vb_caps_keep;
static atomic_int vb_caps_acked_tid[VB_CAPS_MAX_THREADS];
static atomic_int vb_caps_acked;
static atomic_int vb_caps_failed;
static struct vb_kernel_sigaction vb_caps_old;

// This thread: bounding set, then permitted/effective = keep & permitted, inheritable empty.
static int vb_caps_restrict_thread(uint64_t keep) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return -errno;
  uint64_t permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
  for (int c = 0; c < 64; c++) {
    if (keep & ((uint64_t)1 << c)) continue;
    if (syscall(SYS_prctl, PR_CAPBSET_READ, c, 0, 0, 0) == 1 && syscall(SYS_prctl, PR_CAPBSET_DROP, c, 0, 0, 0) < 0) return -errno;
  }
  uint64_t k = keep & permitted;
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)k;
  data[1].effective = data[1].permitted = (uint32_t)(k >> 32);
  hdr.pid = 0;
  if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
  return 0;
}

static void vb_caps_handler(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  if (si && si->si_code == SI_QUEUE && si->si_value.sival_int == VB_CAPS_MAGIC && si->si_pid == getpid()) {
    int r = vb_caps_restrict_thread(atomic_load(&vb_caps_keep));
    if (r < 0) atomic_fetch_add(&vb_caps_failed, 1);
    int i = atomic_fetch_add(&vb_caps_acked, 1);
    if (i < VB_CAPS_MAX_THREADS) atomic_store(&vb_caps_acked_tid[i], (int)syscall(SYS_gettid));
    errno = saved;
    return;
  }
  errno = saved;
  // Not ours: what the replaced handler would have done (glibc's setxid, if one is under way).
  void *h = vb_caps_old.handler;
  if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) return;
  if (vb_caps_old.flags & SA_SIGINFO) ((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
  else ((void (*)(int))h)(sig);
}

static int vb_caps_answered(int tid) {
  int n = atomic_load(&vb_caps_acked);
  if (n > VB_CAPS_MAX_THREADS) n = VB_CAPS_MAX_THREADS;
  for (int i = 0; i < n; i++)
    if (atomic_load(&vb_caps_acked_tid[i]) == tid) return 1;
  return 0;
}

static int vb_caps_thread_alive(int tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d", tid);
  return access(path, F_OK) == 0;
}

int vb_restrict_caps(double keep_d, int32_t *out) {
  uint64_t keep = (uint64_t)keep_d;
  out[0] = out[1] = out[2] = 0;
  int r = vb_caps_restrict_thread(keep);
  if (r < 0) return r;
  out[0] = 1;
#if defined(__x86_64__) || defined(__aarch64__)
  // Borrow the restorer (return-from-handler trampoline) of a handler libc installed.
  struct vb_kernel_sigaction cur;
  if (syscall(SYS_rt_sigaction, VB_CAPS_SIGNAL, NULL, &vb_caps_old, sizeof(uint64_t)) < 0) {
    out[2] = -1;
    return 0;
  }
  void *restorer = (vb_caps_old.flags & VB_SA_RESTORER) ? vb_caps_old.restorer : NULL;
  for (int s = 1; !restorer && s < 65; s++)
    if (syscall(SYS_rt_sigaction, s, NULL, &cur, sizeof(uint64_t)) == 0 && (cur.flags & VB_SA_RESTORER)) restorer = cur.restorer;
  if (!restorer) {
    out[2] = -1;
    return 0;
  }
  struct vb_kernel_sigaction sa = {(void *)vb_caps_handler, SA_SIGINFO | SA_RESTART | VB_SA_RESTORER, restorer, ~(uint64_t)0};
  atomic_store(&vb_caps_keep, keep);
  atomic_store(&vb_caps_acked, 0);
  atomic_store(&vb_caps_failed, 0);
  for (int i = 0; i < VB_CAPS_MAX_THREADS; i++) atomic_store(&vb_caps_acked_tid[i], 0);
  if (syscall(SYS_rt_sigaction, VB_CAPS_SIGNAL, &sa, NULL, sizeof(uint64_t)) < 0) {
    out[2] = -1;
    return 0;
  }
  pid_t me = getpid();
  int self = (int)syscall(SYS_gettid);
  static int sent[VB_CAPS_MAX_THREADS];
  int nsent = 0;
  int unanswered = 0;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int round = 0; round < 100; round++) {
    // Signal every thread not signalled yet.
    int fresh = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) break;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      int tid = atoi(e->d_name);
      if (tid <= 0 || tid == self) continue;
      int known = 0;
      for (int i = 0; i < nsent && !known; i++) known = sent[i] == tid;
      if (known || nsent >= VB_CAPS_MAX_THREADS) continue;
      siginfo_t si;
      memset(&si, 0, sizeof si);
      si.si_signo = VB_CAPS_SIGNAL;
      si.si_code = SI_QUEUE;
      si.si_pid = me;
      si.si_uid = getuid();
      si.si_value.sival_int = VB_CAPS_MAGIC;
      if (syscall(SYS_rt_tgsigqueueinfo, me, tid, VB_CAPS_SIGNAL, &si) < 0) continue; // gone already
      sent[nsent++] = tid;
      fresh++;
    }
    closedir(d);
    if (fresh == 0 && round > 0) break;
    // Wait until every thread signalled has answered or is gone (bounded: ~1 s in all).
    for (;;) {
      unanswered = 0;
      for (int i = 0; i < nsent; i++)
        if (!vb_caps_answered(sent[i]) && vb_caps_thread_alive(sent[i])) unanswered++;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
      if (unanswered == 0 || ms > 1000) break;
      struct timespec nap = {0, 200 * 1000};
      nanosleep(&nap, NULL);
    }
    if (unanswered > 0) break;
  }
  syscall(SYS_rt_sigaction, VB_CAPS_SIGNAL, &vb_caps_old, NULL, sizeof(uint64_t));
  int answered = 0;
  for (int i = 0; i < nsent; i++) answered += vb_caps_answered(sent[i]);
  out[0] = 1 + answered - atomic_load(&vb_caps_failed);
  out[1] = atomic_load(&vb_caps_failed);
  out[2] = unanswered;
  return 0;
#else
  out[2] = -1;
  return 0;
#endif
}
