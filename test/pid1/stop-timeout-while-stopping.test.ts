// A `stop NAME` whose wait runs out while the service is still stopping (its --timeout, or the wait through a live re-exec): not now (75), the stop goes on.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices, listServices } from "./service-boot.ts";
import { lines } from "./file-text.ts";
import { bootSlowStopper } from "./slow-stopper.ts";

afterEach(killLeftovers);

test("`stop NAME --timeout MS` whose wait ran out while the service ignored SIGTERM (grace 60 s) exited 71 (ETIMEDOUT, an OS error); it exits 75 (the stop is still under way, try again) and the stop goes on", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const sock = join(dir, "run", "control");
  const argv = ["sh", "-c", `trap 'echo term >> ${ev}' TERM; echo main >> ${ev}; while :; do sleep 0.05; done`];
  const { run, list } = bootServices(dir, [{ name: "svc", argv, grace_ms: 60_000 }], { heartbeat_log_every: 0 });
  await waitFor(() => lines(ev).includes("main") && run.log().includes("control socket listening"), 30_000, "the service");
  const stop = await runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "1000"], 30_000);
  expect(lines(ev)).toContain("term");
  expect({ code: stop.code, out: stop.out }).toEqual({ code: 75, out: "" });
  expect(stop.err).toContain("svc: still stopping after 1000 ms");
  // The stop goes on: still stopping, and ended by SIGKILL here rather than after the 60 s grace.
  const svc = (await list()).find((s) => s.name === "svc") as { state: string; pid?: number } | undefined;
  expect(svc?.state).toBe("stopping");
  process.kill(svc!.pid!, "SIGKILL");
  await waitFor(async () => (await list()).find((s) => s.name === "svc")?.state === "stopped", 30_000, "the stop's end", { pollMs: 100 });
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 90_000);

test("`stop NAME` followed through a live re-exec whose service was still stopping at the end of the wait exited 71; it exits 75 as without a re-exec (the stop goes on in the new image)", async () => {
  const b = await bootSlowStopper(); // its stop lasts until the gate exists (at most 60 s)
  const asked = runShippedAsync(["stop", "svc", "--socket", b.sock, "--timeout", "20000"], 90_000);
  await waitFor(() => lines(b.ev).includes("term"), 30_000, "the stop signal");
  expect((await runShippedAsync(["reexec", "--socket", b.sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  const stop = await asked; // the new image's wait: 30 s, the service stopping all along
  expect({ code: stop.code, out: stop.out }).toEqual({ code: 75, out: "" });
  expect(stop.err).toContain("svc: the instance re-exec'd live and the service was still stopping at the end of the wait");
  expect((await listServices(b.sock)).find((s) => s.name === "svc")?.state).toBe("stopping");
  writeFileSync(b.gate, "");
  await waitFor(async () => (await listServices(b.sock)).find((s) => s.name === "svc")?.state === "stopped", 30_000, "the stop's end", { pollMs: 100 });
  process.kill(await b.run.initPid(), "SIGTERM");
  expect((await b.run.result(30_000)).code).toBe(130);
}, 120_000);
