// File descriptors: close, a read that never waits, and the working directory held as a descriptor.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "shim-internal.h"

int vb_close(int fd) { return close(fd) < 0 ? -errno : 0; }

// Reads what waits on a nonblocking fd (at most len bytes): > 0 bytes, 0 at end of file, -EAGAIN when
// nothing waits, or -errno. Service log pipes and control connections alike.
int vb_read_ready(int fd, uint8_t *buf, int len) {
  ssize_t n;
  do n = read(fd, buf, (size_t)len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int)n;
}

// The calling process's working directory as an O_PATH descriptor (close-on-exec): a child can be
// started in it (chdir to /proc/self/fd/N) after the parent has left it.
int vb_open_cwd(void) {
  int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}
