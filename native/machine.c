// Machine-wide calls: mounts, device nodes, hostname, subreaper, no_new_privs, parent-death signal, reboot, sync, clocks.
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "shim-internal.h"

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
