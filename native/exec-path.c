// Finding a command on PATH as execvp(3) does: every file it would try, in order, for the spawned child to exec one after another.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-internal.h"

// `file` with a slash is the one candidate (it must exist). Else each PATH entry (from envp, else a
// default) that holds `file` as an executable regular file is one, in PATH order: execvp tries them
// all, going on after ENOENT (a missing #! interpreter or ELF loader) or EACCES, so a later entry
// runs when an earlier one cannot. A relative file or PATH entry is looked up in `dirfd`, the
// directory the child will start in, and stays relative. On success *out is a malloc'd blob of
// *count >= 1 NUL-terminated paths and *eacces tells whether an entry was there but not executable
// (a directory, no x bit: execve's EACCES). Returns 0, or -ENOENT / -EACCES (no candidate: the best
// failure), -ENAMETOOLONG, -ENOMEM.
int vb_exec_candidates(const char *file, char *const envp[], int dirfd, char **out, int *count, int *eacces) {
  *out = NULL;
  *count = 0;
  *eacces = 0;
  size_t flen = strlen(file);
  if (strchr(file, '/')) {
    if (flen >= PATH_MAX) return -ENAMETOOLONG;
    if (faccessat(dirfd, file, F_OK, 0) != 0) return -errno;
    if ((*out = strdup(file)) == NULL) return -ENOMEM;
    *count = 1;
    return 0;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
  // Every candidate is at most one PATH entry plus '/' plus the file: the blob never outgrows this.
  char *blob = malloc(strlen(path) + 1 + (strlen(path) + 1) * (flen + 2));
  if (blob == NULL) return -ENOMEM;
  size_t used = 0;
  char buf[PATH_MAX];
  for (const char *seg = path;;) {
    const char *end = strchr(seg, ':');
    size_t len = end ? (size_t)(end - seg) : strlen(seg);
    if (len + 1 + flen + 1 <= sizeof buf) {
      if (len == 0) strcpy(buf, file);  // an empty entry: the current directory
      else {
        memcpy(buf, seg, len);
        buf[len] = '/';
        strcpy(buf + len + 1, file);
      }
      struct stat st;
      if (fstatat(dirfd, buf, &st, 0) == 0) {
        if (S_ISREG(st.st_mode) && faccessat(dirfd, buf, X_OK, 0) == 0) {
          size_t n = strlen(buf) + 1;
          memcpy(blob + used, buf, n);
          used += n;
          (*count)++;
        } else {
          *eacces = 1;
        }
      }
    }
    if (!end) break;
    seg = end + 1;
  }
  if (*count == 0) {
    free(blob);
    return *eacces ? -EACCES : -ENOENT;
  }
  *out = blob;
  return 0;
}
