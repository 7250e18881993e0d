// Kernel modules: finit_module(2) on a file.
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim-internal.h"

// Loads the module in `path` with `params` (flags 4 = MODULE_INIT_COMPRESSED_FILE for .xz/.zst/.gz).
int vb_finit_module(const char *path, const char *params, int flags) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  long r = syscall(SYS_finit_module, fd, params ? params : "", flags);
  int e = errno;
  close(fd);
  return r < 0 ? -e : 0;
}
