// PID 1's real-time beat window: the privileges phase dropped CAP_SYS_NICE before the first beat (every window refused, the
// feature inert); an init that may not take SCHED_FIFO at all must still beat and say why its beats are not real-time. (A
// thread left without CAP_SYS_NICE inside its window: test/heartbeat/beat-priority.test.ts; raising RLIMIT_RTPRIO here would
// need CAP_SYS_RESOURCE, which this machine's root lacks.)
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";
import { waitFor } from "../harness/wait.ts";
import { childrenOf } from "./harness.ts";
import { schedOf, threadsNamed } from "../harness/proc-stat.ts";

const live: Bun.Subprocess[] = [];
afterEach(() => {
  for (const p of live.splice(0)) {
    for (const c of childrenOf(p.pid)) process.kill(c, "SIGKILL");
    p.kill("SIGKILL");
  }
});

function config(dir: string, heartbeatMs: number, heartbeat: object): string {
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({
    state_dir: join(dir, "state"), run_dir: join(dir, "run"), heartbeat_ms: heartbeatMs, heartbeat_log_every: 1,
    evolution: { enabled: false }, heartbeat: { watchdog: false, ...heartbeat },
  }));
  return cfg;
}

/** Boots the shipped executable as PID 1 of a new namespace behind `wrap` (each wrapper execs the next); resolves with its host pid. */
async function boot(wrap: string[], cfg: string) {
  const p = Bun.spawn(hidden([...wrap, exe, "boot", "--config", cfg], { pid1: true }), { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: shippedEnv() });
  live.push(p);
  let log = "";
  void (async () => {
    for await (const c of p.stderr) log += new TextDecoder().decode(c);
  })();
  let init = 0;
  await waitFor(() => (init = childrenOf(p.pid)[0] ?? 0) > 0, 10_000, "the namespace's PID 1").catch(async (e) => {
    await Bun.sleep(200);
    throw new Error(`${e}\n${log}`);
  });
  return { p, init, log: () => log };
}

const beats = (log: string) => log.match(/ beat n=\d+ period_ms=/g)?.length ?? 0;
type Stats = { heartbeat: { wake: { beatFifo: string | null; beatGuard: string | null } } };

const threadPolicies = (pid: number, comm: string) => threadsNamed(pid, comm).map((t) => t.policy);

test("PID 1 keeps CAP_SYS_NICE for the window: after the capability drop its beats are SCHED_FIFO 1 and its guard thread runs SCHED_FIFO; with beat_fifo_priority 0 the capability goes and no guard starts", async () => {
  for (const priority of [1, 0]) {
    const dir = tempDir();
    const run = await boot([], config(dir, 50, { beat_fifo_priority: priority }));
    await waitFor(() => run.log().includes("capabilities dropped from the bounding set") && beats(run.log()) >= 3, 30_000, "privileges dropped and three beats");
    const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${run.init}/status`, "utf8"))![1]}`);
    expect({ priority, sysNice: ((bnd >> 23n) & 1n) === 1n }).toEqual({ priority, sysNice: priority > 0 });
    const st = (await controlRequest({ op: "stats" }, { path: join(dir, "run/control") })) as Stats;
    expect({ priority, beatFifo: st.heartbeat.wake.beatFifo }).toEqual({ priority, beatFifo: priority > 0 ? "SCHED_FIFO 1" : "off" });
    if (priority > 0) expect(st.heartbeat.wake.beatGuard).toMatch(/^\d+ raises, \d+ beats started, \d+ lowered$/);
    else expect(st.heartbeat.wake.beatGuard).toBe("off");
    expect({ priority, guard: threadPolicies(run.init, "vb-beat-guard") }).toEqual({ priority, guard: priority > 0 ? [1] : [] });
    expect(run.log()).not.toContain("beats wait without real-time priority");
    process.kill(run.init, "SIGTERM");
    await run.p.exited;
  }
}, 90_000);

test("PID 1 without CAP_SYS_NICE and RLIMIT_RTPRIO 0: the window is refused once (EPERM, said at info), the beats go on", async () => {
  const dir = tempDir();
  const run = await boot(["prlimit", "--rtprio=0:0", "setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", "--"], config(dir, 10, { beat_fifo_priority: 1 }));
  await waitFor(() => beats(run.log()) >= 30, 30_000, "thirty beats");
  expect(run.log().match(/beats wait without real-time priority/g)?.length).toBe(1);
  expect(run.log()).toMatch(/beats wait without real-time priority beat_fifo_priority=1 why="refused: [^"]*sched_setscheduler[^"]*EPERM/);
  const st = (await controlRequest({ op: "stats" }, { path: join(dir, "run/control") })) as Stats;
  expect(st.heartbeat.wake.beatFifo).toMatch(/^refused: /);
  expect(st.heartbeat.wake.beatGuard).toBe("off");
  expect(threadPolicies(run.init, "vb-beat-guard")).toEqual([]);
  process.kill(run.init, "SIGTERM");
  await run.p.exited;
}, 60_000);

test("PID 1 started under SCHED_BATCH (chrt): the window leaves the operator's policy alone rather than end each beat in SCHED_OTHER", async () => {
  const dir = tempDir();
  const run = await boot(["chrt", "--batch", "0"], config(dir, 10, { beat_fifo_priority: 1 }));
  await waitFor(() => beats(run.log()) >= 30, 30_000, "thirty beats");
  expect(run.log()).toMatch(/beats wait without real-time priority beat_fifo_priority=1 why="kept: the thread runs under policy 3, not SCHED_OTHER"/);
  expect(schedOf(run.init).policy).toBe(3);
  process.kill(run.init, "SIGTERM");
  await run.p.exited;
}, 60_000);
