// flock(2): advisory whole-file locks on an open descriptor.
#include <errno.h>
#include <sys/file.h>

#include "shim-internal.h"

// flock(2) on an open descriptor (op: LOCK_SH=1, LOCK_EX=2, LOCK_NB=4, LOCK_UN=8). 0 or -errno.
int vb_flock(int fd, int op) { return flock(fd, op) < 0 ? -errno : 0; }
