// File descriptors: close, and the working directory held as a descriptor.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shim-internal.h"

int vb_close(int fd) { return close(fd) < 0 ? -errno : 0; }

// The calling process's working directory as an O_PATH descriptor (close-on-exec): a child can be
// started in it (chdir to /proc/self/fd/N) after the parent has left it.
int vb_open_cwd(void) {
  int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}
