// dumb-init's job control: SIGTSTP/SIGTTIN/SIGTTOU used to stop nothing (TTIN/TTOU were not even forwarded); now CMD gets them and the init stops itself.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

/** The state letter of /proc/PID/stat (T = stopped). */
const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0];

const jobSignals = ["TSTP", "TTIN", "TTOU"] as const;

function recorder(out: string): string {
  const traps = [...jobSignals, "CONT"].map((s) => `trap 'echo ${s} >> ${out}' ${s}`).join("; ");
  return `${traps}; trap 'exit 0' TERM; echo ready >> ${out}; while :; do sleep 0.02; done`;
}

describe("as a subreaper", () => {
  for (const sig of jobSignals) {
    test(`SIG${sig} reaches CMD, then the init stops itself; SIGCONT resumes it and reaches CMD`, async () => {
      const out = join(tempDir(), "job.log");
      const run = start(["--", "bash", "-c", recorder(out)]);
      const init = await run.initPid();
      await waitFor(() => read(out).includes("ready"), 10_000, "CMD ready");
      process.kill(init, `SIG${sig}`);
      await waitFor(() => read(out).includes(sig), 10_000, `CMD to get SIG${sig}`);
      await waitFor(() => state(init) === "T", 10_000, "the init to stop itself");
      process.kill(init, "SIGCONT");
      await waitFor(() => read(out).includes("CONT"), 10_000, "CMD to get SIGCONT");
      expect(state(init)).not.toBe("T");
      process.kill(init, "SIGTERM");
      const r = await run.result(15_000);
      expect(r.code).toBe(0);
      expect(read(out).trim().split("\n")).toEqual(["ready", sig, "CONT"]);
    }, 40_000);
  }

  test("a job-control signal rewritten with -r reaches CMD rewritten, and the init still stops itself", async () => {
    const out = join(tempDir(), "job.log");
    const run = start(["-r", "TSTP:TTIN", "--", "bash", "-c", recorder(out)]);
    const init = await run.initPid();
    await waitFor(() => read(out).includes("ready"), 10_000, "CMD ready");
    process.kill(init, "SIGTSTP");
    await waitFor(() => read(out).includes("TTIN"), 10_000, "CMD to get SIGTTIN");
    await waitFor(() => state(init) === "T", 10_000, "the init to stop itself");
    process.kill(init, "SIGCONT");
    await waitFor(() => read(out).includes("CONT"), 10_000, "CMD to get SIGCONT");
    process.kill(init, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
    expect(read(out).trim().split("\n")).toEqual(["ready", "TTIN", "CONT"]);
  }, 40_000);
});

test("as PID 1 (which cannot stop itself) SIGTSTP still reaches CMD and the init keeps running", async () => {
  const out = join(tempDir(), "job.log");
  const run = start(["--", "bash", "-c", recorder(out)], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => read(out).includes("ready"), 10_000, "CMD ready");
  process.kill(init, "SIGTSTP");
  await waitFor(() => read(out).includes("TSTP"), 10_000, "CMD to get SIGTSTP");
  process.kill(init, "SIGTERM"); // a stopped init would not forward this
  const r = await run.result(15_000);
  expect(r.code).toBe(0);
  expect(read(out).trim().split("\n")).toEqual(["ready", "TSTP"]);
}, 40_000);
