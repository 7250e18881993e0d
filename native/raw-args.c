// raw-args.c: this process's argv and environment as bytes, as the kernel gave them (not UTF-8 text).
//
// Bun decodes argv and the environment as UTF-8: a byte sequence that is not UTF-8 (a Latin-1 file
// name, say) comes back as U+FFFD. tini mode hands CMD its arguments and environment unchanged, so
// it takes them from here. glibc calls a library's constructors with argc, argv and envp, dlopen
// included; the argument strings stay where the kernel put them.
#include <errno.h>
#include <stdint.h>
#include <string.h>

extern char **environ;

static int saved_argc;
static char **saved_argv;

__attribute__((constructor)) static void vb_save_args(int argc, char **argv, char **envp) {
  (void)envp;
  saved_argc = argc;
  saved_argv = argv;
}

// which 0: argv; which 1: the environment now (`environ`).
static int list_of(int which, char ***list, int *n) {
  if (which == 0) {
    if (!saved_argv) return -ENOENT;
    *list = saved_argv;
    *n = saved_argc;
  } else if (which == 1) {
    *list = environ;
    int c = 0;
    while (environ && environ[c]) c++;
    *n = c;
  } else {
    return -EINVAL;
  }
  return 0;
}

// Bytes of the blob of the entries (each NUL-terminated, back to back); their count in *count.
int vb_raw_strings_size(int which, int32_t *count) {
  char **list;
  int n;
  int r = list_of(which, &list, &n);
  if (r < 0) return r;
  long total = 0;
  for (int i = 0; i < n; i++) total += (long)strlen(list[i]) + 1;
  if (total > INT32_MAX) return -E2BIG;
  *count = n;
  return (int)total;
}

// Copies that blob into out (cap bytes); returns its size, or -ENOSPC when it does not fit.
int vb_raw_strings_copy(int which, uint8_t *out, int cap) {
  char **list;
  int n;
  int r = list_of(which, &list, &n);
  if (r < 0) return r;
  long at = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(list[i]) + 1;
    if (at + (long)len > cap) return -ENOSPC;
    memcpy(out + at, list[i], len);
    at += (long)len;
  }
  return (int)at;
}
