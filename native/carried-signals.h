// The signals the init answers, blocked across an exec into the init (pre-init, live re-exec) so that one sent meanwhile waits for its handlers.
#ifndef VB_CARRIED_SIGNALS_H
#define VB_CARRIED_SIGNALS_H

#include <signal.h>
#include <stdlib.h>

// execve resets caught signals to their default, and for PID 1 (the machine's or a namespace's)
// the kernel drops a signal whose action is the default. The signals the init answers (shutdown,
// re-exec, SIGUSR1) are blocked across the exec instead, so one that arrives before the new image
// has its handlers stays pending and reaches them (Bun keeps the mask and the pending set until its
// loop waits). Every other signal starts unblocked, as Bun expects. SIGPWR only when `gc_signal`
// (JSC_SIGNAL_FOR_GC) moved the garbage collector's thread-suspend signal elsewhere: blocked, it
// would stall the collector. Read as gcSignal() in src/sys/signals.ts reads it.
static inline void vb_carried_signals(sigset_t *set, const char *gc_signal) {
  sigemptyset(set);
  const int kept[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) sigaddset(set, kept[i]);
  int gc = gc_signal ? atoi(gc_signal) : 0;
  if (gc > 0 && gc < 65 && gc != SIGPWR) sigaddset(set, SIGPWR);
}

#endif
