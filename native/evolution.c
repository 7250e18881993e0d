// Evolution channel syscalls Bun lacks: sealed memfd, shared RW mapping, seal queries (returns -errno on failure).
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

// Creates a memfd of `size` zero bytes whose size can never change again (SHRINK|GROW|SEAL):
// no producer can truncate it under our mapping, so PID 1 never takes a SIGBUS from it.
int vb_evo_memfd(const char *name, double size) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  // memfd_create makes it 0777: the channel is the owner's alone (DESIGN §6: mode 0600).
  if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int vb_evo_get_seals(int fd) {
  int r = fcntl(fd, F_GET_SEALS);
  return r < 0 ? -errno : r;
}

// Maps `size` bytes of `fd` shared read-write; the address goes to out[0] (as a double: < 2^53).
int vb_evo_mmap(int fd, double size, double *out) {
  void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return -errno;
  out[0] = (double)(uintptr_t)p;
  return 0;
}

int vb_evo_munmap(double addr, double size) {
  return munmap((void *)(uintptr_t)addr, (size_t)size) < 0 ? -errno : 0;
}

// Used by tests playing a hostile producer: tries to resize the memfd (must fail with EPERM).
int vb_evo_ftruncate(int fd, double size) { return ftruncate(fd, (off_t)size) < 0 ? -errno : 0; }

int vb_evo_fsize(int fd, double *out) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  out[0] = (double)st.st_size;
  return 0;
}
