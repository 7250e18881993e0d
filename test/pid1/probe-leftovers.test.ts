// What an exec probe leaves running when it exits (a process it backgrounded) goes with it, as its own process group.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, killRunning, pidsRunning, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

/** A unique sleep length names a test's processes among the host's. */
const unique = (k: number) => String(600_000 + k * 100_000 + (process.pid % 99_999));

test("a process an exec health probe backgrounded outlived the probe, one more per check, until the service's run ended; it is killed when the probe exits", async () => {
  const dir = tempDir();
  const left = unique(0);
  const { run, list } = bootServices(dir, [{ name: "svc", argv: ["sleep", "1000"], health: { probe: { exec: ["sh", "-c", `sleep ${left} & exit 0`] }, interval_ms: 100, timeout_ms: 10_000, failures: 3 } }]);
  try {
    await waitFor(async () => ((await list())[0]?.health?.checks ?? 0) >= 4, 20_000, "four health checks", { pollMs: 100 });
    // The probe running now may have its own still; none of those before it is left.
    expect(pidsRunning(["sleep", left]).length).toBeLessThanOrEqual(1);
    expect((await list())[0]).toMatchObject({ state: "running", health: { failures: 0 } });
  } finally {
    killRunning(["sleep", left]);
  }
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);

test("a process an exec readiness probe backgrounded outlived each failed try; it is killed when the probe exits", async () => {
  const dir = tempDir();
  const left = unique(1);
  const tries = `${dir}/tries`;
  // Fails twice (leaving a sleep each time), then passes.
  const probe = `echo x >> ${tries}; sleep ${left} & [ $(wc -l < ${tries}) -ge 3 ]`;
  const { run, list } = bootServices(dir, [{ name: "svc", argv: ["sleep", "1000"], ready: { exec: ["sh", "-c", probe], interval_ms: 50, timeout_ms: 20_000 } }]);
  try {
    await waitFor(async () => (await list())[0]?.ready === true, 25_000, "the service ready after three tries", { pollMs: 100 });
    expect(pidsRunning(["sleep", left])).toEqual([]);
  } finally {
    killRunning(["sleep", left]);
  }
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);
