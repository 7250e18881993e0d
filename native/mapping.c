// Read-only file mapping (the model, mapped zero-copy; also from /proc/self/exe) and sealed memfd copies.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "shim-internal.h"

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

long vb_page_size(void) { return sysconf(_SC_PAGESIZE); }

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
