// `kill -SEGV <init>` (or ILL, ABRT, BUS, FPE, TRAP, SYS) used to crash tini mode in Bun's crash handler (exit 128+N) and orphan CMD; dumb-init forwards them.
import { afterEach, describe, expect, test } from "bun:test";
import { killLeftovers, start, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

const signals = { ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, SEGV: 11, SYS: 31 } as const;

for (const pid1 of [false, true]) {
  describe(`tini mode ${pid1 ? "as PID 1" : "as a subreaper"}`, () => {
    for (const [sig, num] of Object.entries(signals)) {
      test(`SIG${sig} sent with kill reaches CMD; the init lives on to report CMD's status`, async () => {
        const script = `trap 'echo got ${sig} >&2; exit 0' ${sig}; echo cmd-ready >&2; while :; do sleep 0.02; done`;
        const run = start(["--", "bash", "-c", script], { pid1 });
        const init = await run.initPid();
        await waitFor(() => run.log().includes("cmd-ready"), 10_000, "CMD ready");
        process.kill(init, num);
        const r = await run.result(15_000);
        expect(r.stderr).toContain(`got ${sig}`);
        expect(r.stderr).not.toContain("panic");
        expect(r.code).toBe(0);
      }, 30_000);
    }
  });
}
