// The beat's wake-up thread: its only job is to sleep to each due time (clock_nanosleep TIMER_ABSTIME) and wake the beat.
import { setFifoPriority, sleepUntilNs } from "../sys/sleeper.ts";
import { DONE, REQ, STOP, type SleeperInit } from "./beat-sleeper-protocol.ts";
import { jitInteractive } from "../util/jit-policy.ts";

jitInteractive(); // a worker runs hot from the start (the executable starts reluctant to JIT)

declare const self: Worker;

self.onmessage = (e: MessageEvent<SleeperInit>) => {
  const { ctl: ctlBuf, due: dueBuf, fifoPriority } = e.data;
  const ctl = new Int32Array(ctlBuf);
  const due = new Float64Array(dueBuf);
  let fifo = "off";
  if (fifoPriority > 0) {
    try {
      setFifoPriority(fifoPriority);
      fifo = `SCHED_FIFO ${fifoPriority}`;
    } catch (err) {
      fifo = `refused: ${String(err)}`;
    }
  }
  self.postMessage({ ready: true, fifo });
  // Blocking loop: this thread runs nothing else (no event loop needed until it stops).
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, REQ, seen);
    if (Atomics.load(ctl, STOP) !== 0) break;
    const req = Atomics.load(ctl, REQ);
    seen = req;
    sleepUntilNs(due[0]!);
    if (Atomics.load(ctl, REQ) !== req) continue; // rescheduled or cancelled while asleep
    Atomics.store(ctl, DONE, req);
    Atomics.notify(ctl, DONE);
  }
  self.postMessage({ stopped: true });
};
