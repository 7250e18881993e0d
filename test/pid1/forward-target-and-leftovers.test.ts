// dumb-init's -c / DUMB_INIT_SETSID and --leftovers=term-exit: the init used to accept neither, so a dumb-init command line failed (64).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

/**
 * CMD and a grandchild in its process group, both recording SIGUSR1; TERM ends CMD after its grandchild.
 * CMD sets its traps before it starts the grandchild: once the grandchild says ready, a USR1 finds them set.
 */
function family(out: string): string {
  const grandchild = `trap 'echo grandchild-USR1 >> ${out}' USR1; trap 'exit 0' TERM; echo grandchild-ready >> ${out}; while :; do sleep 0.02; done`;
  return `trap 'echo child-USR1 >> ${out}' USR1; trap 'kill $!; wait; exit 0' TERM; bash -c "${grandchild}" & while :; do sleep 0.02; done`;
}

const cases: Array<{ name: string; args: string[]; env: Record<string, string>; group: boolean }> = [
  { name: "default (tini): CMD alone", args: [], env: {}, group: false },
  { name: "-g: the whole group", args: ["-g"], env: {}, group: true },
  { name: "-g then -c: CMD alone (the last wins)", args: ["-g", "-c"], env: {}, group: false },
  { name: "DUMB_INIT_SETSID=1: the whole group", args: [], env: { DUMB_INIT_SETSID: "1" }, group: true },
  { name: "DUMB_INIT_SETSID=1 with --single-child: CMD alone", args: ["--single-child"], env: { DUMB_INIT_SETSID: "1" }, group: false },
  { name: "DUMB_INIT_SETSID=0 with -g: the whole group (options win)", args: ["-g"], env: { DUMB_INIT_SETSID: "0" }, group: true },
  { name: "TINI_KILL_PROCESS_GROUP=1: the whole group", args: [], env: { TINI_KILL_PROCESS_GROUP: "1" }, group: true },
  { name: "TINI_KILL_PROCESS_GROUP set but empty went to CMD alone, where tini (any value, set is on) signals the whole group: now the whole group", args: [], env: { TINI_KILL_PROCESS_GROUP: "" }, group: true },
];

describe("where a forwarded signal goes", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const out = join(tempDir(), "family.log");
      const run = start([...c.args, "--", "bash", "-c", family(out)], { env: c.env });
      await waitFor(() => read(out).includes("grandchild-ready"), 10_000, "grandchild ready");
      process.kill(run.proc.pid, "SIGUSR1");
      await waitFor(() => read(out).includes("child-USR1"), 10_000, "CMD to get SIGUSR1");
      if (c.group) await waitFor(() => read(out).includes("grandchild-USR1"), 10_000, "the grandchild to get SIGUSR1");
      process.kill(run.proc.pid, "SIGTERM");
      expect((await run.result(15_000)).code).toBe(0);
      // Without the group, the grandchild got nothing (the init waited for it to go, so its log is complete).
      expect(read(out).includes("grandchild-USR1")).toBe(c.group);
    }, 30_000);
  }
});

/**
 * CMD leaves a process in its group that records SIGTERM (and SIGWINCH, the marker) but keeps running,
 * writes its pid, and exits 7 (the leftover's stdio is /dev/null: the harness waits for the init's pipes to close).
 */
function leaver(out: string): string {
  return `(trap 'echo leftover-TERM >> ${out}' TERM; trap 'echo leftover-WINCH >> ${out}' WINCH; echo pid=$(exec sh -c 'echo $PPID') >> ${out}; while :; do sleep 0.02; done) </dev/null >/dev/null 2>&1 & while ! grep -q pid= ${out} 2>/dev/null; do sleep 0.01; done; exit 7`;
}
const leftoverPid = (out: string) => Number(/pid=(\d+)/.exec(read(out))![1]);

describe("--leftovers", () => {
  test("term-exit with -g (dumb-init's default): the group gets SIGTERM and the init exits at once", async () => {
    const out = join(tempDir(), "left.log");
    const r = await start(["-g", "--leftovers=term-exit", "--grace", "20000", "--", "sh", "-c", leaver(out)]).result(15_000);
    expect(r.code).toBe(7);
    expect(r.ms).toBeLessThan(10_000); // not the 20 s grace
    const pid = leftoverPid(out);
    await waitFor(() => read(out).includes("leftover-TERM"), 10_000, "the leftover to get SIGTERM");
    expect(alive(pid)).toBe(true); // left running, as dumb-init leaves it
    process.kill(pid, "SIGKILL");
  }, 30_000);

  test("term-exit with -c (dumb-init -c): the leftover gets nothing and the init exits at once", async () => {
    const out = join(tempDir(), "left.log");
    const r = await start(["-c", "--leftovers", "term-exit", "--", "sh", "-c", leaver(out)]).result(15_000);
    expect(r.code).toBe(7);
    const pid = leftoverPid(out);
    expect(alive(pid)).toBe(true);
    // A signal sent now is handled after any SIGTERM the init could have sent before it exited: the
    // shell runs pending traps in signal-number order, so the marker must be above SIGTERM (15);
    // SIGUSR1 (10) would be recorded first and the test read before a pending TERM's line.
    process.kill(pid, "SIGWINCH");
    await waitFor(() => read(out).includes("leftover-WINCH"), 10_000, "the leftover to get SIGWINCH");
    process.kill(pid, "SIGKILL");
    expect(read(out)).not.toContain("leftover-TERM");
  }, 30_000);

  test("term-exit sent the group SIGTERM whatever -r said; dumb-init sends it as it forwards a SIGTERM, rewritten (-r 15:28: SIGWINCH; -r 15:0: nothing)", async () => {
    const out = join(tempDir(), "left.log");
    const r = await start(["-g", "--leftovers=term-exit", "-r", "15:28", "--", "sh", "-c", leaver(out)]).result(15_000);
    expect(r.code).toBe(7);
    const pid = leftoverPid(out);
    await waitFor(() => read(out).includes("leftover-WINCH") || read(out).includes("leftover-TERM"), 10_000, "the leftover to get a signal");
    process.kill(pid, "SIGKILL");
    expect(read(out)).toContain("leftover-WINCH");
    expect(read(out)).not.toContain("leftover-TERM");

    const dropped = join(tempDir(), "left.log");
    const d = await start(["-g", "--leftovers=term-exit", "-r", "TERM:0", "--", "sh", "-c", leaver(dropped)]).result(15_000);
    expect(d.code).toBe(7);
    const left = leftoverPid(dropped);
    expect(alive(left)).toBe(true);
    // The marker (SIGWINCH, above SIGTERM: see the -c test) is handled after any SIGTERM sent before it.
    process.kill(left, "SIGWINCH");
    await waitFor(() => read(dropped).includes("leftover-WINCH"), 10_000, "the leftover to get SIGWINCH");
    process.kill(left, "SIGKILL");
    expect(read(dropped)).not.toContain("leftover-TERM");
  }, 30_000);

  test("term-grace-kill (the default): SIGTERM, then SIGKILL at the grace limit; the init waits for it", async () => {
    const out = join(tempDir(), "left.log");
    const r = await start(["--grace", "300", "--", "sh", "-c", leaver(out)]).result(15_000);
    expect(r.code).toBe(7);
    expect(read(out)).toContain("leftover-TERM");
    expect(alive(leftoverPid(out))).toBe(false);
    expect(r.stderr).toContain("SIGKILL");
  }, 30_000);

  test("--grace above 2^31-1 ms was taken by setTimeout as 1 ms: leftovers were SIGKILLed at once, with a Node warning; it is a usage error now", async () => {
    const r = await start(["--grace", "3000000000", "--", "true"]).result(10_000);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("--grace");
    expect(r.stderr).toContain("at most 2147483647");
    expect((await start(["--grace", "2147483647", "--", "true"]).result(10_000)).code).toBe(0);
  });

  test("an unknown policy is a usage error (64) that lists the choices", async () => {
    const r = await start(["--leftovers=kill-all", "--", "true"]).result(10_000);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("term-grace-kill, term-exit");
  });
});
