// What a pre_start leaves running when it exits (a process it backgrounded) goes with it, as systemd kills what ExecStartPre= forked off; a pre_start whose run was stopped goes too.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { killLeftovers, killRunning, pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

/** The test's `sleep LEFT` processes, killed after it whatever happened. */
const killAfter = (left: string) => cleanups.push(() => killRunning(["sleep", left]));

/** A unique sleep length names a test's processes among the host's. */
const unique = (k: number) => String(500_000 + k * 100_000 + (process.pid % 99_999));

/**
 * A pre_start that backgrounds `sleep SECONDS` and writes its pid to FILE. With `escape` the sleep
 * leaves its process group first (setsid), and the pre_start exits only once it has.
 */
function preStart(left: string, file: string, escape = false) {
  const cmd = escape ? `setsid sh -c 'echo $$ > ${file}; exec sleep ${left}' >/dev/null 2>&1 & while [ ! -s ${file} ]; do sleep 0.01; done` : `sleep ${left} >/dev/null 2>&1 & echo $! > ${file}`;
  return { argv: ["sh", "-c", cmd], timeout_ms: 10_000 };
}

/** The pid the pre_start wrote, once it did. */
async function backgrounded(file: string): Promise<number> {
  await waitFor(() => existsSync(file) && readFileSync(file, "utf8").trim() !== "", 10_000, "the pre_start's background pid");
  return Number(readFileSync(file, "utf8").trim());
}

test("with cgroups off, a process a pre_start backgrounded ran on beside the service, outside its stop and clean-up; it is killed when the pre_start exits", async () => {
  const dir = tempDir();
  const left = unique(0);
  const file = join(dir, "bg.pid");
  killAfter(left);
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [{ name: "svc", argv: ["sleep", "1000"], pre_start: preStart(left, file) }] });
  const run = bootWithoutCgroups(cfg, cleanups);
  await waitFor(() => /service started service=svc/.test(run.log()), 30_000, "the service started after its pre_start");
  expect(run.log()).toContain("cgroups are off");
  const pid = await backgrounded(file);
  expect(pid).toBeGreaterThan(0);
  await waitFor(() => pidsRunning(["sleep", left]).length === 0, 5_000, "the pre_start's background sleep gone").catch(() => undefined);
  expect(pidsRunning(["sleep", left])).toEqual([]);
  expect(await run.shutdown()).toBe(130); // power-off of a PID namespace: its init ends by SIGINT
}, 60_000);

test("with cgroups on, a process a pre_start backgrounded out of its process group (setsid) ran on in the service's cgroup beside the main process; what the pre_start left in the cgroup is killed when it exits", async () => {
  const dir = tempDir();
  const left = unique(1);
  const file = join(dir, "bg.pid");
  killAfter(left);
  const { run, list } = bootServices(dir, [{ name: "svc", argv: ["sleep", "1000"], pre_start: preStart(left, file, true) }], {}, { pid1: true });
  await waitFor(async () => (await list())[0]?.state === "running", 30_000, "the service running after its pre_start", { pollMs: 100 });
  expect(run.log()).not.toContain("cgroups are off");
  const pid = await backgrounded(file);
  expect(pid).toBeGreaterThan(0);
  await waitFor(() => pidsRunning(["sleep", left]).length === 0, 5_000, "the pre_start's background sleep gone").catch(() => undefined);
  expect(pidsRunning(["sleep", left])).toEqual([]);
  // The main process, which joined the cgroup after the clean-up, runs on.
  expect((await list())[0]).toMatchObject({ state: "running", restarts: 0 });
}, 60_000);

test("with cgroups off, a stop during pre_start killed only the service's cgroup (none): the pre_start ran on to its timeout, and the next start ran a second one beside it", async () => {
  const dir = tempDir();
  const left = unique(2);
  const pres = join(dir, "pre-pids");
  killAfter(left);
  const sock = join(dir, "run", "control");
  const services = [{ name: "svc", argv: ["sleep", "1000"], pre_start: { argv: ["sh", "-c", `echo $$ >> ${pres}; exec sleep ${left}`], timeout_ms: 60_000 } }];
  const run = bootWithoutCgroups(writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), services }), cleanups);
  const lines = () => (existsSync(pres) ? readFileSync(pres, "utf8").trim().split("\n").filter(Boolean) : []);
  await waitFor(() => run.log().includes("control socket listening") && lines().length === 1 && pidsRunning(["sleep", left]).length === 1, 30_000, "the first pre_start");
  expect(run.log()).toContain("cgroups are off");
  expect((await runShippedAsync(["stop", "svc", "--socket", sock])).code).toBe(0);
  await waitFor(() => pidsRunning(["sleep", left]).length === 0, 5_000, "the stopped run's pre_start killed", { explain: () => run.log() });
  expect((await runShippedAsync(["start", "svc", "--socket", sock])).code).toBe(0);
  await waitFor(() => lines().length === 2, 10_000, "the new run's pre_start");
  expect(pidsRunning(["sleep", left]).length).toBe(1);
  expect(await run.shutdown()).toBe(130);
}, 60_000);
