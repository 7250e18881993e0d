// orphan-storm.c: makes N orphans (double fork) as fast as it can, then waits until its parent
// (the init under test) has reaped every one; prints the elapsed seconds. Used by bench/pid1.bench.ts.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Number of children of the init (zombies included) other than ourselves.
static int init_children(pid_t init, pid_t self) {
  char path[64], buf[1 << 16];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", init, init);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  int count = 0;
  for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
    if (atoi(tok) != self) count++;
  return count;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  pid_t init = getppid(), self = getpid();
  double t0 = now();
  for (int i = 0; i < n; i++) {
    pid_t c = fork();
    if (c == 0) {
      if (fork() == 0) _exit(0);
      _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
  }
  double spawned = now();
  int left;
  long polls = 0;
  while ((left = init_children(init, self)) > 0) {
    polls++;
    if (now() - t0 > 60) {
      printf("timeout left=%d\n", left);
      return 1;
    }
    usleep(200);
  }
  double t1 = now();
  printf("orphans=%d spawn_s=%.6f total_s=%.6f polls=%ld\n", n, spawned - t0, t1 - t0, polls);
  return 0;
}
