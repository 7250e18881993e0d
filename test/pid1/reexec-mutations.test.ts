// Mutations streamed while PID 1 re-execs itself 5 times: the producer's session survives every
// re-exec (the channel memfd, the socket and the session are handed over across execve), so a plain
// client that never reconnects sees nothing but a pause; every mutation is acknowledged once,
// journaled once at its sequence with exactly the content sent, and the final weights are the base
// weights with exactly those values written.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { checkJournalAndWeights, startStream } from "./producer-stream.ts";

afterEach(killLeftovers);

test("a plain producer streaming across 5 live re-execs as PID 1 is never disconnected: each mutation acknowledged once, journaled once, final weights base + exactly those values", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${state}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const s = startStream(init, dir, "plain");
  // Re-exec i once the stream has made progress after re-exec i-1 (events, not a clock): the stream
  // runs until told to stop, so it is running at every handoff.
  for (let i = 1; i <= 5; i++) {
    const base = s.acks.length;
    await waitFor(() => s.acks.length >= base + 30, 60_000, `30 acknowledgements before re-exec ${i}`);
    process.kill(init, "SIGHUP");
    await waitFor(() => run.log().includes(`resuming after re-exec generation=${i} `), 30_000, `re-exec ${i}`);
    await waitFor(() => run.log().lastIndexOf("control socket listening") > run.log().indexOf(`resuming after re-exec generation=${i} `), 30_000, `image ${i} up`);
  }
  const base = s.acks.length;
  await waitFor(() => s.acks.length >= base + 30, 60_000, "30 acknowledgements after the last re-exec");
  const r = await s.finish();
  expect({ code: r.code, err: r.err, reconnects: r.reconnects }).toEqual({ code: 0, err: "", reconnects: 0 });
  expect(r.after.status).toBe("ACCEPTED");
  // The session was adopted by every image, never closed and reopened.
  expect(run.log().match(/producer sessions adopted across re-exec sessions=1$/gm)?.length).toBe(5);
  expect(run.log().match(/producer session opened ring=/g)?.length).toBe(2); // the stream's, then the one after
  expect(run.log()).not.toContain("not adopted");

  process.kill(init, "SIGTERM");
  const res = await run.result(30_000);
  expect(res.stderr).toContain("checkpoint written");
  checkJournalAndWeights(state, [...s.acks, r.after], r.n, true);
}, 300_000);
