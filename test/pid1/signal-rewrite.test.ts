// dumb-init's -r s:r: a rewritten signal used to reach CMD unchanged, and a signal rewritten to 0 was not dropped.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

/** CMD: records each trapped signal's name in `out`; exits 0 on the last one (the marker). */
function recorder(out: string, sigs: string[], exitOn: string): string {
  const traps = sigs.map((s) => (s === exitOn ? `trap 'echo ${s} >> ${out}; exit 0' ${s}` : `trap 'echo ${s} >> ${out}' ${s}`)).join("; ");
  return `${traps}; echo ready >> ${out}; while :; do sleep 0.02; done`;
}

for (const pid1 of [false, true]) {
  describe(`signal rewriting ${pid1 ? "as PID 1" : "as a subreaper"}`, () => {
    test("-r rewrites by name and by number, and -r S:0 drops S", async () => {
      const out = join(tempDir(), "rewrite.log");
      const sigs = ["HUP", "INT", "USR1", "USR2", "WINCH", "QUIT", "TERM"];
      // TERM -> INT (names), 10 -> 12 (numbers: USR1 -> USR2), WINCH dropped, QUIT -> TERM (ends CMD).
      const run = start(["-v", "-r", "TERM:INT", "-r", "10:12", "--rewrite", "SIGWINCH:0", "--rewrite=3:SIGTERM", "--", "bash", "-c", recorder(out, sigs, "TERM")], { pid1 });
      const init = await run.initPid();
      await waitFor(() => read(out).includes("ready"), 10_000, "CMD ready");
      const steps: Array<[NodeJS.Signals, string]> = [["SIGTERM", "INT"], ["SIGUSR1", "USR2"], ["SIGHUP", "HUP"]];
      let expected = ["ready"];
      for (const [send, got] of steps) {
        if (send === "SIGHUP") process.kill(init, "SIGWINCH"); // dropped: only HUP may follow
        process.kill(init, send);
        expected = [...expected, got];
        // Failed once in CI (INT never recorded, as a subreaper; not reproduced in 20 runs, loaded or
        // not): the init's own lines (-v: each forwarded signal) say which side lost it next time.
        await waitFor(() => read(out).trim().split("\n").length >= expected.length, 10_000, `CMD to record ${got}`, {
          explain: () => `CMD recorded: ${JSON.stringify(read(out))}\ninit's log:\n${run.log()}`,
        });
      }
      process.kill(init, "SIGQUIT");
      const r = await run.result(15_000);
      expect(r.code).toBe(0);
      expect(read(out).trim().split("\n")).toEqual([...expected, "TERM"]);
    }, 40_000);
  });
}

test("a malformed -r (no colon, unknown name, glibc's 32, out of range) is a usage error (64) naming --rewrite", async () => {
  for (const spec of ["15", "TERM:NOPE", "15:65", "15:32", "0:15", "BOGUS:1", "15::12"]) {
    const r = await start(["-r", spec, "--", "true"]).result(10_000);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("--rewrite");
  }
}, 60_000);
