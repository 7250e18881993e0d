// C source for test daemons that speak sd_notify: the headers they use and `notify(path, msg)`, one datagram to NOTIFY_SOCKET.

/**
 * Prepend to a test daemon's C source (it starts with `#define _GNU_SOURCE`). `notify` sends `msg`
 * to the socket `path` (an `@` first is the abstract namespace) and returns sendto's result;
 * `notify_main_ready` sends "MAINPID=<pid>\nREADY=1" (a forking daemon's worker naming `pid`).
 */
export const NOTIFY_C = `#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static int notify(const char *path, const char *msg) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  memcpy(a.sun_path, path, n);
  if (path[0] == '@') a.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  int r = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
  close(fd);
  return r;
}
static int notify_main_ready(const char *path, int pid) {
  char msg[64];
  snprintf(msg, sizeof msg, "MAINPID=%d\\nREADY=1", pid);
  return notify(path, msg);
}
`;
