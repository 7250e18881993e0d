// tini mode forwards every signal tini forwards: SIGALRM and friends used to kill the init (exit 142) and orphan CMD.
import { afterEach, describe, expect, test } from "bun:test";
import { killLeftovers, start, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

/**
 * Signals the old table did not forward (one process each: the child traps it and exits 0). SIGTSTP
 * is in test/pid1/job-control.test.ts: after forwarding it the init stops itself, as dumb-init does.
 */
const signals = ["ALRM", "VTALRM", "PROF", "IO", "XCPU", "STKFLT", "PIPE", "CONT", "URG", "XFSZ", "PWR"] as const;
const numbers: Record<(typeof signals)[number], number> = { ALRM: 14, VTALRM: 26, PROF: 27, IO: 29, XCPU: 24, STKFLT: 16, PIPE: 13, CONT: 18, URG: 23, XFSZ: 25, PWR: 30 };

for (const pid1 of [false, true]) {
  describe(`tini mode ${pid1 ? "as PID 1" : "as a subreaper"}`, () => {
    for (const sig of signals) {
      test(`SIG${sig} reaches CMD, and the init lives on to report CMD's status`, async () => {
        // CMD writes to stderr: the harness streams it (run.log()).
        const script = `trap 'echo got ${sig} >&2; exit 0' ${sig}; echo cmd-ready >&2; while :; do sleep 0.02; done`;
        const run = start(["--", "bash", "-c", script], { pid1 });
        const init = await run.initPid();
        await waitFor(() => run.log().includes("cmd-ready"), 10_000, "CMD ready");
        process.kill(init, numbers[sig]);
        const r = await run.result(15_000);
        expect(r.stderr).toContain(`got ${sig}`);
        expect(r.code).toBe(0); // CMD's status, not 128+N of a killed init
      }, 30_000);
    }

    test("a real-time signal (SIGRTMIN+3) reaches CMD", async () => {
      const script = `trap 'echo got RT >&2; exit 0' RTMIN+3; echo cmd-ready >&2; while :; do sleep 0.02; done`;
      const run = start(["--", "bash", "-c", script], { pid1 });
      const init = await run.initPid();
      await waitFor(() => run.log().includes("cmd-ready"), 10_000, "CMD ready");
      process.kill(init, 37);
      const r = await run.result(15_000);
      expect(r.stderr).toContain("got RT");
      expect(r.code).toBe(0);
    }, 30_000);
  });
}

test("signals the caller ignored stay ignored in CMD (nohup works), others are back to default", async () => {
  // SIGHUP ignored by the caller (as nohup does); the child reports its own ignored set.
  const run = start(["--", "sh", "-c", "grep SigIgn /proc/self/status"], {});
  const plain = await run.result(10_000);
  const ign = (s: string) => BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(s)![1]}`);
  expect(ign(plain.stdout) & 1n).toBe(0n); // SIGHUP not ignored without nohup
  const p = Bun.spawn(["sh", "-c", `trap '' HUP; exec "$@"`, "sh", ...((await import("../harness/artifact.ts")).shipped(["--", "sh", "-c", "grep SigIgn /proc/self/status"]))], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  expect(await p.exited).toBe(0);
  expect(ign(out) & 1n).toBe(1n); // SIGHUP (bit 0) still ignored in CMD
  expect(ign(out) & (1n << 12n)).toBe(0n); // SIGPIPE is not: Bun ignores it for itself, CMD gets the default
  expect(ign(out) & (1n << 24n)).toBe(0n); // nor SIGXFSZ (same reason)
}, 30_000);

test("a real-time signal above 53 that the caller ignored was back to default in CMD (the ignored set crossed bun:ffi as a double: 53 bits)", async () => {
  // bash names real-time signals by number; the child reports its own ignored set.
  const { shipped } = await import("../harness/artifact.ts");
  const p = Bun.spawn(["bash", "-c", `trap '' 40 54 60 64; exec "$@"`, "bash", ...shipped(["--", "sh", "-c", "grep SigIgn /proc/self/status"])], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  expect(await p.exited).toBe(0);
  const ign = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(out)![1]}`);
  for (const sig of [40n, 54n, 60n, 64n]) expect({ sig, ignored: (ign >> (sig - 1n)) & 1n }).toEqual({ sig, ignored: 1n });
}, 30_000);
