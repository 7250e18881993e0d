// Service output was polled every 20 ms even when idle; then, woken by a signal per write, a chatty service cost twice the CPU. The pacer does both right.
import { expect, test } from "bun:test";
import { writeSync } from "node:fs";
import { closeFdQuietly } from "../../src/sys/fd.ts";
import { readAvailable } from "../../src/sys/fd.ts";
import { logPipe } from "../../src/sys/log-pipe.ts";
import { WakeOrPoll } from "../../src/supervisor/wake-or-poll.ts";
import { waitFor } from "../harness/wait.ts";

test("quiet: a write wakes the reader at once; flowing: polled, and quiet again after the idle polls", async () => {
  const [r, w] = logPipe();
  const buf = new Uint8Array(4096);
  let reads = 0;
  let bytes = 0;
  const read = () => {
    reads++;
    let got = 0;
    for (let n = readAvailable(r, buf); n !== null && n > 0; n = readAvailable(r, buf)) got += n;
    bytes += got;
    return got;
  };
  // A 60 s safety poll: anything read below came by the signal or the busy poll.
  const pacer = new WakeOrPoll(read, { quietPollMs: 60_000, busyPollMs: 20, idlePollsToQuiet: 5 });
  pacer.add(r);
  try {
    await Bun.sleep(300);
    expect(reads).toBeLessThanOrEqual(2); // idle: nothing wakes it (a 20 ms poll: ~15 reads)
    const t0 = performance.now();
    writeSync(w, "one\n");
    await waitFor(() => bytes === 4, 5_000, "the write to be read");
    expect(performance.now() - t0).toBeLessThan(1_000); // by the signal, not the 60 s poll
    // Now busy: polled every 20 ms (reads go on with no writes), then quiet after 5 empty polls.
    const busyReads = reads;
    await waitFor(() => reads >= busyReads + 5, 5_000, "the busy polls");
    const quietAt = reads;
    await Bun.sleep(300);
    // Quiet again: a 20 ms poll would read ~15 times here (a stray SIGURG from elsewhere in this
    // test process may add one or two).
    expect(reads - quietAt).toBeLessThanOrEqual(3);
    writeSync(w, "two\n");
    await waitFor(() => bytes === 8, 5_000, "the second write, by the signal again");
  } finally {
    pacer.close();
    closeFdQuietly(r);
    closeFdQuietly(w);
  }
});
