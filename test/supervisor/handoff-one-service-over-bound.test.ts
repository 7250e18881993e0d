// One service over a bound of the re-exec handoff (65 output pipes, a 5000-character killedFor) made the whole services part unreadable: every service started again beside its running process.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServices } from "../../src/boot/services-phase.ts";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { toSnapshot } from "../../src/supervisor/service-handover.ts";
import { ServiceLogs } from "../../src/supervisor/service-logs.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import { newRecord } from "../../src/supervisor/service-record.ts";
import { serviceSnapshotSchema } from "../../src/supervisor/service-snapshot.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { closeFdQuietly } from "../../src/sys/fd.ts";
import { logPipe } from "../../src/sys/log-pipe.ts";
import { processExists } from "../../src/util/process-exists.ts";

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const dir = mkdtempSync(join(tmpdir(), "vb-handoff-bound-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

test("killed for a health probe whose exec argv is 5000 characters long, a service's snapshot was over killedFor's 4096: it is cut where it is set, and the snapshot parses", () => {
  const probe = { exec: ["/bin/check", "x".repeat(5000)] };
  const r = newRecord(validateConfig({ services: [{ name: "s", argv: ["x"], health: { probe, failures: 1 } }] }).services[0]!);
  step(r, { type: "start" }, 0);
  step(r, { type: "spawned", pid: 10 }, 0);
  step(r, { type: "health", ok: false, probe: `exec ${probe.exec.join(" ")}` }, 10);
  expect(r.killedFor!.length).toBeLessThanOrEqual(4096);
  expect(r.killedFor!.startsWith("health check failed 1 times in a row (exec /bin/check xxx")).toBe(true);
  expect(serviceSnapshotSchema().safeParse(toSnapshot(r, 500, 20)).success).toBe(true);
});

test("a service holding 66 output pipes (cgroups off, a crash loop whose escaped children keep their stdout) handed all of them over, over the handoff's 64: the newest 64 go, the current run's among them", () => {
  const cfg = validateConfig({ services: [{ name: "svc", argv: ["x"], log_console: false }] }).services[0]!;
  const logs = new ServiceLogs(new Map([["svc", cfg]]), null, false);
  const writeEnds: number[] = [];
  try {
    // 33 runs; each run's escaped process keeps its stdout and stderr open.
    for (let i = 0; i < 33; i++) writeEnds.push(...logs.open("svc"));
    const handed = logs.handover("svc");
    expect(handed.length).toBe(64);
    const r = toSnapshot(newRecord(cfg), null, 0, { logFds: handed });
    expect(serviceSnapshotSchema().safeParse(r).success).toBe(true);
    // The last run's two read ends are among them (opened last: the greatest fd numbers here).
    const newest = Math.max(...handed.map((h) => h.fd));
    expect(handed.at(-1)!.fd).toBe(newest);
  } finally {
    logs.endHandover();
    logs.close();
    for (const fd of writeEnds) closeFdQuietly(fd);
  }
});

test("a services handoff with one service's entry over a bound, and one whose state cannot be read, was dropped whole ('starting services fresh': each service again beside its running process); the others are adopted, the first kept, the second stopped before it starts again", async () => {
  const starts = join(dir, "d-starts");
  const loop = (name: string) => ({ name, argv: ["sh", "-c", "while :; do sleep 0.05; done"], no_new_privs: false, log_console: false, grace_ms: 10_000 });
  const cfg = validateConfig({
    services: [
      loop("a"),
      { ...loop("b"), grace_ms: 3_000 },
      { name: "d", argv: ["sh", "-c", `trap 'exit 0' TERM; echo $$ >> ${starts}; while :; do sleep 0.05; done`], no_new_privs: false, log_console: false, grace_ms: 10_000 },
    ],
  });
  const reaper = new Reaper().start(20);
  // The previous image: its services running.
  const before = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env);
  const pidOf = (s: Supervisor, n: string) => s.list().find((x) => x.name === n)!.pid;
  const stateOf = (s: Supervisor, n: string) => s.list().find((x) => x.name === n)!.state;
  const startsOfD = () => (existsSync(starts) ? readFileSync(starts, "utf8").split("\n").length - 1 : 0);
  let after: Supervisor | null = null;
  const pipes: [number, number][] = [];
  before.startAll();
  try {
    await until(() => ["a", "b", "d"].every((n) => stateOf(before, n) === "running"), 10_000, "the services running");
    await until(() => startsOfD() === 1, 10_000, "d's trap in place");
    const old = { a: pidOf(before, "a")!, b: pidOf(before, "b")!, d: pidOf(before, "d")! };
    const part = JSON.parse(JSON.stringify(before.snapshot())) as { services: Record<string, unknown>[] };
    // b as an image before the bounds wrote it: being killed for a health check whose exec probe had a
    // 5000-character argv, and holding 65 output pipes (escaped processes of earlier runs).
    for (let i = 0; i < 65; i++) pipes.push(logPipe());
    const b = part.services.find((s) => s.name === "b")!;
    Object.assign(b, { killedFor: `health check failed 1 times in a row (exec /bin/check ${"x".repeat(5000)})`, timerLeftMs: 3_000, logFds: pipes.map(([r]) => ({ fd: r, stream: 1 })) });
    // d's state as no image writes it: what it held cannot be known.
    part.services.find((s) => s.name === "d")!.state = "zombie";
    const now = (after = startServices(cfg, reaper, part));
    // a and b: adopted, the same processes (a started afresh beside its old self before).
    expect({ a: pidOf(now, "a"), b: pidOf(now, "b") }).toEqual({ a: old.a, b: old.b });
    expect(stateOf(now, "a")).toBe("running");
    // Every one of b's 65 pipes is read (one not adopted would block its writer once full).
    writeSync(pipes[0]![1], "first pipe\n");
    writeSync(pipes[64]![1], "65th pipe\n");
    await until(() => (now.logLines("b")?.lines ?? []).filter((l) => l.line.endsWith(" pipe")).length === 2, 5_000, "b's first and 65th pipes read");
    // d: its old process got its stop signal, and only once it was gone did d start again.
    await until(() => stateOf(now, "d") === "running" && pidOf(now, "d") !== old.d, 10_000, "d started again");
    expect(processExists(old.d)).toBe(false);
    await until(() => startsOfD() === 2, 5_000, "d's new run");
    expect(readFileSync(starts, "utf8").split("\n")[0]).toBe(String(old.d));
  } finally {
    for (const p of [...before.pids(), ...(after?.pids() ?? [])]) {
      try {
        process.kill(-p, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await after?.stopAll();
    for (const [, w] of pipes) closeFdQuietly(w);
    reaper.stop();
  }
}, 60_000);
