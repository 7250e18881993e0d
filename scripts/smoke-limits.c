/*
 * cgroup limits probe for scripts/qemu-smoke.ts: a service in the QEMU guest (built static with gcc at test
 * time), configured with pids_max and memory_max. Forks children that wait (until pids.max refuses one), then
 * touches memory 1 MiB at a time (until memory.max has the kernel kill it). Says how far it got on the console.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORKS 16
#define MIB 256

int main(void) {
  int forked = 0, err = 0;
  for (int i = 0; i < FORKS; i++) {
    pid_t p = fork();
    if (p == 0) {
      pause();
      _exit(0);
    }
    if (p < 0) {
      err = errno;
      break;
    }
    forked++;
  }
  printf("smoke-limits: forked %d of %d (%s)\n", forked, FORKS, err ? strerror(err) : "no refusal");
  fflush(stdout);
  for (int i = 1; i <= MIB; i++) {
    char *p = malloc(1 << 20);
    if (!p) {
      printf("smoke-limits: malloc failed at %d MiB\n", i);
      return 1;
    }
    memset(p, i, 1 << 20);
    if (i % 8 == 0) {
      printf("smoke-limits: touched %d MiB\n", i);
      fflush(stdout);
    }
  }
  printf("smoke-limits: touched %d MiB: memory_max not enforced\n", MIB);
  return 0;
}
