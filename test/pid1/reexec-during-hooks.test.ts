// A live re-exec while a service's pre_start or post_stop runs: the new image waits for that command instead of leaving it unwatched.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, pidsRunning, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { lines } from "./file-text.ts";
import { listServices } from "./service-boot.ts";

afterEach(killLeftovers);

/** A command that records its begin, waits for the test to create `gate` (bounded), then records its end. */
const gated = (ev: string, tag: string, gate: string) => ["sh", "-c", `echo ${tag}-begin >> ${ev}; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; echo ${tag}-end >> ${ev}`];

function boot(dir: string, service: Record<string, unknown>) {
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [service] });
  return start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
}

async function reexec(run: ReturnType<typeof start>, sock: string): Promise<void> {
  const r = await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000);
  expect(r.code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
}

test("a live re-exec during a service's pre_start ran a second pre_start beside the first, which went on unwatched; the new image now waits for the first, and the main process starts once, after it", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const gate = join(dir, "gate");
  const sock = join(dir, "run/control");
  const run = boot(dir, { name: "svc", argv: ["sh", "-c", `echo main >> ${ev}; exec sleep 1000`], pre_start: { argv: gated(ev, "pre", gate), timeout_ms: 60_000 } });
  await waitFor(() => lines(ev).includes("pre-begin") && run.log().includes("control socket listening"), 30_000, "the pre_start");
  await reexec(run, sock);
  await waitFor(async () => (await listServices(sock)).length > 0, 30_000, "the new image's control socket");
  writeFileSync(gate, "");
  await waitFor(() => lines(ev).includes("main") && /service started service=svc/.test(run.log()), 30_000, "the main process");
  expect(lines(ev)).toEqual(["pre-begin", "pre-end", "main"]);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("a live re-exec during a stopped service's post_stop left it unwatched: a start ran the next run beside it; the new image now waits for it, as the next run does", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const gate = join(dir, "gate");
  const sock = join(dir, "run/control");
  const run = boot(dir, { name: "svc", argv: ["sh", "-c", `echo main >> ${ev}; exec sleep 1000`], post_stop: { argv: gated(ev, "post", gate), timeout_ms: 60_000 } });
  await waitFor(() => lines(ev).includes("main") && run.log().includes("control socket listening"), 30_000, "the service");
  // Its answer comes once the post_stop is over: the re-exec closes that connection first.
  const stop = runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(ev).includes("post-begin"), 30_000, "the post_stop");
  await reexec(run, sock);
  await stop;
  await waitFor(async () => (await listServices(sock)).length > 0, 30_000, "the new image's control socket");
  expect((await runShippedAsync(["start", "svc", "--socket", sock])).code).toBe(0);
  // The next run waits for the post_stop of the last.
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toBe("pending");
  writeFileSync(gate, "");
  await waitFor(() => lines(ev).filter((l) => l === "main").length === 2, 30_000, "the next run");
  expect(lines(ev)).toEqual(["main", "post-begin", "post-end", "main"]);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("a shutdown after a live re-exec during a service's post_stop cut that post_stop short (the new image did not know it); it now waits for it, as for one it started", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const sock = join(dir, "run/control");
  // Takes 2 s, far longer than the shutdown's drain takes to reach it when nothing waits for it.
  const run = boot(dir, { name: "svc", argv: ["sh", "-c", `echo main >> ${ev}; exec sleep 1000`], post_stop: { argv: ["sh", "-c", `echo post-begin >> ${ev}; sleep 2; echo post-end >> ${ev}`], timeout_ms: 60_000 } });
  await waitFor(() => lines(ev).includes("main") && run.log().includes("control socket listening"), 30_000, "the service");
  const stop = runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(ev).includes("post-begin"), 30_000, "the post_stop");
  await reexec(run, sock);
  await stop;
  await waitFor(async () => (await listServices(sock)).length > 0, 30_000, "the new image's control socket");
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
  expect(lines(ev)).toEqual(["main", "post-begin", "post-end"]);
}, 120_000);

test("an exec health probe running at a live re-exec was left unwatched and ran on past its timeout (a hung probe leaked one process per re-exec); the new image ends it and probes again", async () => {
  const dir = tempDir();
  const probes = join(dir, "probes");
  const sock = join(dir, "run/control");
  // Each probe records its start, then hangs far beyond its 20 s timeout; a unique sleep names them on the host.
  const hang = String(600 + (process.pid % 100_000) / 1e6);
  const probe = ["sh", "-c", `echo probe >> ${probes}; exec sleep ${hang}`];
  const run = boot(dir, { name: "svc", argv: ["sleep", "1000"], health: { probe: { exec: probe }, interval_ms: 50, timeout_ms: 20_000, failures: 1000 } });
  await waitFor(() => pidsRunning(["sleep", hang]).length === 1 && run.log().includes("control socket listening"), 30_000, "the first probe");
  const [first] = pidsRunning(["sleep", hang]);
  await reexec(run, sock);
  // Ended by the new image, well before its own 20 s timeout would have (the old image's timer is gone).
  await waitFor(() => !pidsRunning(["sleep", hang]).includes(first!), 10_000, "the probe from before the re-exec to end");
  // The new image probes again.
  await waitFor(() => lines(probes).length > 1, 30_000, "a probe of the new image");
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
