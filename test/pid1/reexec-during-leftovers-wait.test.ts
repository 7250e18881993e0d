// A live re-exec while a stop waited for what the service's run left (its main process gone): the new image made the service "pending", never killed the leftovers nor ran post_stop, and answered the stop at once.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { lines } from "./file-text.ts";
import { killLeftovers, killRunning, pidsRunning, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { listServices } from "./service-boot.ts";
import { bootArgs } from "./boot-args.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

/** A unique sleep length names a test's leftover among the host's processes. */
const unique = (k: number) => String(700_000 + k * 100_000 + (process.pid % 99_999));

/**
 * The service: a child in its process group that ignores SIGTERM (`sleep LEFT`), a main process that
 * exits on it, a post_stop; 8 s of grace. Its stop then waits for the child with its main process gone.
 */
function config(dir: string, left: string) {
  const ev = join(dir, "events");
  const main = `sh -c 'trap "" TERM; exec sleep "$0"' "$1" & trap 'echo term >> "$0"; exit 0' TERM; echo main >> "$0"; while :; do sleep 0.05; done`;
  const svc = { name: "svc", argv: ["sh", "-c", main, ev, left], grace_ms: 8000, post_stop: { argv: ["sh", "-c", 'echo post >> "$0"', ev], timeout_ms: 5000 } };
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_log_every: 0, services: [svc] });
  return { cfg, ev, sock: join(dir, "run", "control") };
}

/** Stops svc, re-execs the init while the stop waits for the leftover, and checks the new image finishes that stop. */
async function stopAcrossReexec(log: () => string, left: string, ev: string, sock: string) {
  cleanups.push(() => killRunning(["sleep", left]));
  await waitFor(() => lines(ev).includes("main") && pidsRunning(["sleep", left]).length === 1 && log().includes("control socket listening"), 30_000, "the service and its child");
  const stop = runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "60000"], 90_000);
  await waitFor(() => log().includes("main process exited; waiting for the rest of its run"), 10_000, "the stop waiting for the child", { explain: log });
  expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  const r = await stop;
  // Before: "pending" at once, the stop answered then, the child left running, no post_stop.
  expect({ code: r.code, out: r.out, err: r.err }).toEqual({ code: 0, out: "svc: stopped (stopped)\n", err: "" });
  expect(pidsRunning(["sleep", left])).toEqual([]);
  await waitFor(() => lines(ev).includes("post"), 10_000, "post_stop");
  expect(lines(ev)).toEqual(["main", "term", "post"]);
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toBe("stopped");
  const after = log().slice(log().indexOf("resuming after re-exec generation=1 "));
  expect(after).toMatch(/service adopted service=svc pid=null state=stopping waiting_for="the rest of its run"/);
  // How long since the stop signal: its age is carried across the exec, so a few ms either way.
  const ignoredFor = Number(/service ignored SIGTERM for (\d+) ms; sending SIGKILL to what is left of its run service=svc/.exec(after)?.[1] ?? Number.NaN);
  expect(Math.abs(ignoredFor - 8000)).toBeLessThan(100);
}

test("with cgroups on, the leftover in the service's cgroup ran on after a live re-exec during the stop's wait: now the new image waits for the cgroup, kills it at the grace's end and runs post_stop", async () => {
  const dir = tempDir();
  const left = unique(0);
  const { cfg, ev, sock } = config(dir, left);
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await stopAcrossReexec(() => run.log(), left, ev, sock);
  expect(run.log()).not.toContain("cgroups are off");
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("with cgroups off, the leftover in the run's process group ran on after a live re-exec during the stop's wait: now the group is handed over, waited for, and killed at the grace's end", async () => {
  const dir = tempDir();
  const left = unique(1);
  const { cfg, ev, sock } = config(dir, left);
  const run = bootWithoutCgroups(cfg, cleanups);
  await stopAcrossReexec(run.log, left, ev, sock);
  expect(run.log()).toContain("cgroups are off");
  expect(await run.shutdown()).toBe(130);
}, 120_000);
