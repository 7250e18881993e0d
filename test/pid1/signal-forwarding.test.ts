// Signals sent to the init in tini mode reach the main child (or its whole process group with -g).
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

const forwarded = ["HUP", "INT", "QUIT", "USR1", "USR2", "WINCH", "TERM"] as const;

function trapScript(out: string, label: string): string {
  const traps = forwarded.map((s) => (s === "TERM" ? `trap 'echo ${label}-TERM >> ${out}; exit 0' TERM` : `trap 'echo ${label}-${s} >> ${out}' ${s}`)).join("; ");
  return `${traps}; echo ${label}-ready >> ${out}; while :; do sleep 0.02; done`;
}

for (const pid1 of [false, true]) {
  describe(`signal forwarding ${pid1 ? "as PID 1" : "as a subreaper"}`, () => {
    test("each forwarded signal reaches the main child", async () => {
      const out = join(tempDir(), "signals.log");
      const run = start(["--", "sh", "-c", trapScript(out, "child")], { pid1 });
      const init = await run.initPid();
      await waitFor(() => read(out).includes("child-ready"), 10_000, "child ready");
      for (const s of forwarded) {
        process.kill(init, `SIG${s}`);
        await waitFor(() => read(out).includes(`child-${s}`), 10_000, `child to get SIG${s}`);
      }
      const r = await run.result(10_000);
      expect(r.code).toBe(0);
      expect(read(out).trim().split("\n")).toEqual(["child-ready", ...forwarded.map((s) => `child-${s}`)]);
    }, 30_000);

    test("with -g a forwarded signal reaches the child's whole process group", async () => {
      const out = join(tempDir(), "group.log");
      const grandchild = trapScript(out, "grandchild");
      // CMD's traps before the grandchild: once the grandchild says ready, a USR1 must find them set.
      const script = `trap 'echo child-USR1 >> ${out}' USR1; trap 'wait; exit 0' TERM; sh -c "${grandchild.replace(/"/g, '\\"')}" & while :; do sleep 0.02; done`;
      const run = start(["-g", "--", "sh", "-c", script], { pid1 });
      const init = await run.initPid();
      await waitFor(() => read(out).includes("grandchild-ready"), 10_000, "grandchild ready");
      process.kill(init, "SIGUSR1");
      await waitFor(() => read(out).includes("child-USR1") && read(out).includes("grandchild-USR1"), 10_000, "both to get SIGUSR1");
      process.kill(init, "SIGTERM");
      const r = await run.result(10_000);
      expect(r.code).toBe(0);
      expect(read(out)).toContain("grandchild-TERM");
    }, 30_000);
  });
}
