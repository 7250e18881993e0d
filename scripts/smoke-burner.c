/*
 * CPU burner for scripts/qemu-smoke.ts: a service in the QEMU guest (built static with gcc at test time).
 * Blocks SIGUSR1 and waits for it (the guest driver, scripts/smoke-guest.ts, sends it once the machine
 * is quiet), then spins until killed. Idle until then: the boot's own load never runs into it.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
    perror("smoke-burner: sigprocmask");
    return 1;
  }
  int sig = 0;
  if (sigwait(&set, &sig) != 0) {
    perror("smoke-burner: sigwait");
    return 1;
  }
  printf("smoke-burner: burning pid=%d\n", (int)getpid());
  fflush(stdout);
  volatile unsigned long n = 0;
  for (;;) n++;
}
