/*
 * CPU burner for scripts/qemu-smoke.ts: a service in the QEMU guest (built static with gcc at test time).
 * Blocks SIGUSR1 and waits for it (the guest driver, scripts/smoke-guest.ts, sends it once the machine
 * is quiet), then spins until killed. Idle until then: the boot's own load never runs into it.
 * `smoke-burner --probe` exits 0 at once: its exec health probe.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* Created once SIGUSR1 is blocked: from then on a SIGUSR1 is held pending for the sigwait below. A
 * process inside sigwait shows an empty SigBlk in /proc (the kernel unblocks the awaited set for the
 * wait), so the guest driver waits for this file, not for the mask. */
#define READY_FILE "/run/smoke-burner.ready"

int main(int argc, char **argv) {
  /* The burner's exec health probe (scripts/qemu-smoke.ts): it runs in the burner's cgroup every 200 ms. */
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == 'p') return 0;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
    perror("smoke-burner: sigprocmask");
    return 1;
  }
  int fd = open(READY_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror("smoke-burner: " READY_FILE);
    return 1;
  }
  close(fd);
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
