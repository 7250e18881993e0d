// preinit.c: the tiny static /init. Mounts the early filesystems (a compiled Bun program aborts
// when /proc is missing), sets the runtime's environment and execs vector-boot, which stays PID 1.
//
// Build: gcc -static -O2 -o dist/native/preinit native/preinit.c (scripts/build.ts does it).

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "carried-signals.h"

struct mount_entry {
  const char *source, *target, *fstype;
  unsigned long flags;
  const char *data;
  int optional;
};

// The early mounts, in order. vector-boot's own early setup (src/boot/mount-table.ts) checks the
// same list and mounts whatever is still missing when it was started some other way.
static const struct mount_entry mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 1},
    {"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0},
    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0},
    {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 1},
};

// Device nodes created when devtmpfs is unavailable.
struct node_entry {
  const char *path;
  mode_t mode;
  unsigned major, minor;
};
static const struct node_entry nodes[] = {
    {"/dev/console", S_IFCHR | 0600, 5, 1}, {"/dev/null", S_IFCHR | 0666, 1, 3},
    {"/dev/zero", S_IFCHR | 0666, 1, 5},    {"/dev/urandom", S_IFCHR | 0666, 1, 9},
    {"/dev/kmsg", S_IFCHR | 0644, 1, 11},   {"/dev/tty", S_IFCHR | 0666, 5, 0},
};

static const char *const environment[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/",
    "TERM=linux",
    "TMPDIR=/tmp",
    "NO_COLOR=1",
    // Moves JavaScriptCore's GC signal off SIGPWR (30), which the init needs for power failure.
    "JSC_SIGNAL_FOR_GC=40",
    "VECTOR_BOOT_PREINIT=1",
    NULL,
};

static const char *const target = "/sbin/vector-boot";

static void say(const char *fmt, const char *a, const char *b) {
  char line[512];
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  int n = snprintf(line, sizeof line, "[%5ld.%06ld] vector-boot pre-init: ", (long)ts.tv_sec, ts.tv_nsec / 1000);
  if (n > 0 && n < (int)sizeof line) snprintf(line + n, sizeof line - (size_t)n, fmt, a, b);
  size_t len = strlen(line);
  if (len + 1 < sizeof line) line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w;
}

/**
 * Powers the machine off after a failure that leaves it nothing to run. When reboot(2) is refused (no
 * CAP_SYS_BOOT: a container's PID 1), the pre-init paused for ever and the container never ended
 * (SIGTERM reaches no PID 1 without a handler); it exits instead, which ends the PID namespace (and,
 * as a kernel's init, panics: the panic names the exit).
 */
static int power_off(void) {
  sync();
  sleep(2);
  reboot(RB_POWER_OFF);
  say("reboot(RB_POWER_OFF) failed: %s; exiting%s", strerror(errno), "");
  return 1;
}

int main(int argc, char **argv) {
  (void)argc;
  // Make sure fds 0-2 are the console before anything prints.
  if (fcntl(STDERR_FILENO, F_GETFD) < 0) {
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    // No devtmpfs and no /dev/console in the image: made here, not only by the fallback further on
    // (after this open, which left fds 0-2 closed for the init).
    if (access("/dev/console", F_OK) != 0) mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    // No console (a user namespace allows neither the mount nor mknod): /dev/null, so that the init's
    // first files do not become its stdin, stdout and stderr.
    if (fd < 0) fd = open("/dev/null", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
      dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
      if (fd > 2) close(fd);
    }
  }
  // Only the kernel's /init: run by hand (root on a host, or as a child in a container) it mounted
  // tmpfs over the system's /run and /tmp and, with no /sbin/vector-boot there, called
  // reboot(RB_POWER_OFF), which powers off a host. Nothing is touched unless this is PID 1.
  if (getpid() != 1) {
    say("must run as PID 1 (the kernel's /init); not touching this system%s%s", "", "");
    say("for a container or a development machine use vector-boot itself (`vector-boot -- CMD`, `vector-boot boot`)%s%s", "", "");
    return 64;
  }
  say("started (pid 1)%s%s", "", "");
  // What was mounted, for the line below: it named every mount even when they had all failed.
  char done[128] = "";
  for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
    const struct mount_entry *m = &mounts[i];
    mkdir(m->target, 0755);
    if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0 && errno != EBUSY) {
      if (!m->optional) say("mount %s failed: %s", m->target, strerror(errno));
      continue;
    }
    if (strlen(done) + strlen(m->target) + 2 < sizeof done) {
      if (done[0]) strcat(done, " ");
      strcat(done, m->target);
    }
  }
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    if (access(nodes[i].path, F_OK) != 0) mknod(nodes[i].path, nodes[i].mode, makedev(nodes[i].major, nodes[i].minor));
  }
  // Without /proc the Bun executable aborts at start: PID 1 died (a kernel panic) with no word of
  // why. Said here, and the machine powered off as after a failed exec.
  if (access("/proc/self/stat", F_OK) != 0) {
    say("/proc is not mounted: %s cannot start without it; powering off%s", target, "");
    return power_off();
  }
  say("mounted %s; exec %s", done[0] ? done : "nothing", target);
  char *args[] = {(char *)"vector-boot", (char *)"boot", NULL};
  // The environment plus the moment of the exec (CLOCK_BOOTTIME ns) for the init's boot timing:
  // as PID 1 its /proc start time is the kernel's creation of PID 1, not this exec.
  size_t n = 0;
  while (environment[n]) n++;
  const char *envp[sizeof environment / sizeof environment[0] + 1];
  for (size_t i = 0; i < n; i++) envp[i] = environment[i];
  char execvar[64];
  struct timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  snprintf(execvar, sizeof execvar, "VECTOR_BOOT_EXEC_BOOTTIME_NS=%lld", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  envp[n] = execvar;
  envp[n + 1] = NULL;
  // A shutdown signal in the init's first milliseconds (Bun's start, before its handlers) found the
  // default action, which the kernel drops for PID 1: blocked, it waits for them, as across a re-exec.
  sigset_t carry;
  const char *gc = NULL;
  for (size_t i = 0; environment[i]; i++)
    if (strncmp(environment[i], "JSC_SIGNAL_FOR_GC=", 18) == 0) gc = environment[i] + 18;
  vb_carried_signals(&carry, gc);
  sigprocmask(SIG_SETMASK, &carry, NULL);
  execve(target, args, (char *const *)envp);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  say("exec %s failed: %s; powering off", target, strerror(errno));
  (void)argv;
  return power_off();
}
