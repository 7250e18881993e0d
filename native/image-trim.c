// Gives the kernel back the pages of our own executable image that only the start-up needed (MADV_PAGEOUT).
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim-internal.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

struct trim {
  double bytes; // advised
  int err;      // first errno, 0 if none
  int done;     // the main program was seen
  int exe;      // /proc/self/exe, or -1
};

// The first object dl_iterate_phdr reports is the main program (our executable): each PT_LOAD
// segment's file-backed part (not .bss, which is anonymous and has no file to come back from).
static int main_program(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct trim *t = data;
  if (t->done) return 1;
  t->done = 1;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || ph->p_filesz == 0) continue;
    // Reclaim leaves dirty file pages mapped: an executable written shortly before it started
    // (installed, copied, unpacked) has its pages dirty for up to dirty_expire_centisecs (30 s).
    // They are written back now, as the kernel would soon (a no-op when clean, and on tmpfs).
    if (t->exe >= 0) sync_file_range(t->exe, (off64_t)ph->p_offset, (off64_t)ph->p_filesz, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    uintptr_t start = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
    uintptr_t end = start + ph->p_filesz;
    start &= ~(page - 1);
    end = (end + page - 1) & ~(page - 1);
    if (madvise((void *)start, end - start, MADV_PAGEOUT) < 0) {
      if (t->err == 0) t->err = errno;
      continue;
    }
    t->bytes += (double)(end - start);
  }
  return 1;
}

// The trim in flight or done: written by its thread, read by vb_trim_image_result.
static struct trim result;
static atomic_int state; // 0 none, 1 running, 2 done

static void *trim_thread(void *arg) {
  (void)arg;
  struct trim t = {0, 0, 0, open("/proc/self/exe", O_RDONLY | O_CLOEXEC)};
  dl_iterate_phdr(main_program, &t);
  if (t.exe >= 0) close(t.exe);
  result = t;
  atomic_store_explicit(&state, 2, memory_order_release);
  return NULL;
}

// Starts MADV_PAGEOUT over the executable's loaded segments on a thread of its own: reclaiming
// ~30 MiB took 5-22 ms, which the main thread (the beat) must not wait. Pages nobody else maps
// leave this process (clean file pages leave the page cache too; written ones go to swap if there
// is any, else stay); what is touched again comes back by a page fault. Returns 0, -EBUSY when one
// is already under way, or -errno of pthread_create.
int vb_trim_image_start(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
    if (expected == 1) return -EBUSY;
    atomic_store(&state, 1); // done before: a new one
  }
  pthread_attr_t attr;
  pthread_t th;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int e = pthread_create(&th, &attr, trim_thread, NULL);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    atomic_store(&state, 0);
    return -e;
  }
  return 0;
}

// 0 while the trim runs (or none was started); once done 1, the bytes advised in *bytes, or
// -errno of the first segment refused (EINVAL before Linux 5.4).
int vb_trim_image_result(double *bytes) {
  if (atomic_load_explicit(&state, memory_order_acquire) != 2) return 0;
  *bytes = result.bytes;
  return result.err ? -result.err : 1;
}
