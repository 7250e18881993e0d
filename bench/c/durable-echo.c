// Reference for bench/evolution.bench.ts: the smallest durable round trip across processes. One
// client at a time on a Unix stream socket; for each byte it sends, append one record of RECORD
// bytes to FILE (pwrite at the end), fdatasync, then answer "!". Usage: durable-echo SOCKET FILE RECORD
// Prints "ready" on stdout once listening.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: durable-echo SOCKET FILE RECORD\n");
    return 64;
  }
  size_t record = (size_t)atoi(argv[3]);
  char *rec = calloc(record ? record : 1, 1);
  int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (!rec || fd < 0 || s < 0 || strlen(argv[1]) >= sizeof a.sun_path) {
    perror("durable-echo");
    return 71;
  }
  strcpy(a.sun_path, argv[1]);
  unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0) {
    perror("durable-echo: bind");
    return 71;
  }
  printf("ready\n");
  fflush(stdout);
  memset(rec, 7, record);
  off_t end = 0;
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char b;
    while (read(c, &b, 1) == 1) {
      if (pwrite(fd, rec, record, end) != (ssize_t)record || fdatasync(fd) != 0) {
        perror("durable-echo: write");
        return 74;
      }
      end += (off_t)record;
      if (write(c, "!", 1) != 1) break;
    }
    close(c);
  }
}
