// A live re-exec while a service's pre_start or post_stop runs: the new image waits for that command instead of leaving it unwatched.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, pidsRunning, waitFor, type Run } from "./harness.ts";
import { lines } from "./file-text.ts";
import { bootOne, liveReexec, newImageAnswers, shutDown, untilGate, untilUp } from "./live-reexec.ts";
import { listServices } from "./service-boot.ts";

afterEach(killLeftovers);

/** A command that records its begin, waits for the test to create `gate` (bounded), then records its end. */
const gated = (ev: string, tag: string, gate: string) => ["sh", "-c", `echo ${tag}-begin >> ${ev}; ${untilGate(gate)}; echo ${tag}-end >> ${ev}`];
/** The service's main process: records "main" and stays. */
const main = (ev: string) => ["sh", "-c", `echo main >> ${ev}; exec sleep 1000`];

/** Asks a stop of svc once it runs, re-execs while its post_stop runs, then waits for the stop's answer (it comes once the post_stop is over: the re-exec closes that connection first) and the new image. */
async function reexecDuringPostStop(run: Run, ev: string, sock: string): Promise<void> {
  await untilUp(run, () => lines(ev).includes("main"), "the service");
  const stop = runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(ev).includes("post-begin"), 30_000, "the post_stop");
  await liveReexec(run, sock);
  await stop;
  await newImageAnswers(sock);
}

test("a live re-exec during a service's pre_start ran a second pre_start beside the first, which went on unwatched; the new image now waits for the first, and the main process starts once, after it", async () => {
  const { run, ev, gate, sock } = bootOne(({ ev, gate }) => ({ name: "svc", argv: main(ev), pre_start: { argv: gated(ev, "pre", gate), timeout_ms: 60_000 } }));
  await untilUp(run, () => lines(ev).includes("pre-begin"), "the pre_start");
  await liveReexec(run, sock);
  await newImageAnswers(sock);
  writeFileSync(gate, "");
  await waitFor(() => lines(ev).includes("main") && /service started service=svc/.test(run.log()), 30_000, "the main process");
  expect(lines(ev)).toEqual(["pre-begin", "pre-end", "main"]);
  await shutDown(run);
}, 120_000);

test("a live re-exec during a stopped service's post_stop left it unwatched: a start ran the next run beside it; the new image now waits for it, as the next run does", async () => {
  const { run, ev, gate, sock } = bootOne(({ ev, gate }) => ({ name: "svc", argv: main(ev), post_stop: { argv: gated(ev, "post", gate), timeout_ms: 60_000 } }));
  await reexecDuringPostStop(run, ev, sock);
  expect((await runShippedAsync(["start", "svc", "--socket", sock])).code).toBe(0);
  // The next run waits for the post_stop of the last.
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toBe("pending");
  writeFileSync(gate, "");
  await waitFor(() => lines(ev).filter((l) => l === "main").length === 2, 30_000, "the next run");
  expect(lines(ev)).toEqual(["main", "post-begin", "post-end", "main"]);
  await shutDown(run);
}, 120_000);

test("a shutdown after a live re-exec during a service's post_stop cut that post_stop short (the new image did not know it); it now waits for it, as for one it started", async () => {
  // Takes 2 s, far longer than the shutdown's drain takes to reach it when nothing waits for it.
  const { run, ev, sock } = bootOne(({ ev }) => ({ name: "svc", argv: main(ev), post_stop: { argv: ["sh", "-c", `echo post-begin >> ${ev}; sleep 2; echo post-end >> ${ev}`], timeout_ms: 60_000 } }));
  await reexecDuringPostStop(run, ev, sock);
  await shutDown(run);
  expect(lines(ev)).toEqual(["main", "post-begin", "post-end"]);
}, 120_000);

test("an exec health probe running at a live re-exec was left unwatched and ran on past its timeout (a hung probe leaked one process per re-exec); the new image ends it and probes again", async () => {
  // Each probe records its start, then hangs far beyond its 20 s timeout; a unique sleep names them on the host.
  const hang = String(600 + (process.pid % 100_000) / 1e6);
  const { run, ev: probes, sock } = bootOne(({ ev }) => ({ name: "svc", argv: ["sleep", "1000"], health: { probe: { exec: ["sh", "-c", `echo probe >> ${ev}; exec sleep ${hang}`] }, interval_ms: 50, timeout_ms: 20_000, failures: 1000 } }));
  await untilUp(run, () => pidsRunning(["sleep", hang]).length === 1, "the first probe");
  const [first] = pidsRunning(["sleep", hang]);
  await liveReexec(run, sock);
  // Ended by the new image, well before its own 20 s timeout would have (the old image's timer is gone).
  await waitFor(() => !pidsRunning(["sleep", hang]).includes(first!), 10_000, "the probe from before the re-exec to end");
  // The new image probes again.
  await waitFor(() => lines(probes).length > 1, 30_000, "a probe of the new image");
  await shutDown(run);
}, 120_000);
