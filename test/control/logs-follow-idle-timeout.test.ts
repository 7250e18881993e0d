// `vector-boot logs -f` stopped (Ctrl-Z) past the server's idle timeout, then resumed: it exited 70, "a bug".
import { afterAll, expect, test } from "bun:test";
import { ControlRequestError } from "../../src/control/client.ts";
import { spawnShipped } from "../harness/artifact.ts";
import { waitFor } from "../harness/wait.ts";
import { FullTarget, startServer } from "./harness.ts";

/** A target whose service `db` has the lines the test appends. */
class LinesTarget extends FullTarget {
  readonly lines: string[] = [];
  serviceLogs(_name: string, after = 0, limit = 1000) {
    const all = this.lines.map((line, i) => ({ seq: i + 1, t: 0, line }));
    return { lines: all.filter((l) => l.seq > after).slice(-limit), next: all.length };
  }
}

const target = new LinesTarget();
// Idle for 1 s (60 s in the init): the follower polls every 200 ms, so only a stopped one goes idle.
const { server, path } = startServer(target, { idleTimeoutMs: 1_000, housekeepingMs: 20 });
afterAll(() => server.close());

test("logs -f whose connection the server closed as idle (the follower stopped a while, then resumed) exited 70; it reconnects and follows on", async () => {
  target.lines.push("line-1");
  const follower = spawnShipped(["logs", "db", "-f", "--socket", path]);
  let text = "";
  void (async () => {
    for await (const chunk of follower.stdout) text += new TextDecoder().decode(chunk);
  })();
  const err = new Response(follower.stderr).text();
  try {
    await waitFor(() => text.includes("line-1") || follower.exitCode !== null, 15_000, "the follower's first line");
    // Stopped (as by Ctrl-Z) until the server has timed its connection out; resumed while the server
    // lingers with the `timeout` line sent, so the follower reads that line (before, it exited 70).
    const errorsBefore = server.stats().errors;
    process.kill(follower.pid, "SIGSTOP");
    await waitFor(() => server.stats().errors > errorsBefore, 15_000, "the server's idle timeout of the stopped follower");
    process.kill(follower.pid, "SIGCONT");
    target.lines.push("line-2");
    await waitFor(() => text.includes("line-2") || follower.exitCode !== null, 15_000, "the line written after the resume");
    expect({ exit: follower.exitCode, text, err: follower.exitCode === null ? "" : await err }).toEqual({ exit: null, text: "line-1\nline-2\n", err: "" });
  } finally {
    follower.kill("SIGKILL");
  }
}, 60_000);

test("a control request whose connection the server closed for time (`timeout`) exits 75 (try again), not 70 (a bug)", () => {
  expect(new ControlRequestError("timeout", "idle for 60000 ms; closing").exitCode).toBe(75);
  expect(new ControlRequestError("timeout", "request incomplete after 5000 ms; closing").exitCode).toBe(75);
});
