// Services at shutdown and around it: a dependency never stopped, a service restarted during the shutdown (and outliving the init), one never killed, start requests answered "started" that started nothing, a pre_start of no run.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { processExists } from "../../src/util/process-exists.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

/** A development init with these services; resolves once all of them run and the control socket listens. */
async function bootWith(services: unknown[], extra: Record<string, unknown> = {}) {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), ...extra, services });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const list = async () => JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out) as Array<{ name: string; state: string; pid: number | null }>;
  await waitFor(async () => (await list()).every((s) => s.state === "running"), 30_000, "every service running", { pollMs: 200 });
  return { run, init, sock, list };
}

const loop = "while :; do sleep 0.1; done";

test("a dependent that stopped by its cgroup emptying (leftovers waited out) never released its dependency: db got no stop signal until the services' bound ran out, then the drain's", async () => {
  const { run, init } = await bootWith([
    { name: "db", argv: ["sh", "-c", `trap 'exit 0' TERM; ${loop}`] },
    { name: "api", depends_on: ["db"], grace_ms: 1000, argv: ["sh", "-c", `(trap '' TERM; ${loop}) & trap 'exit 0' TERM; ${loop}`] },
  ]);
  const t0 = performance.now();
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/service stopped service=api[\s\S]*service stopped service=db/);
  expect(r.stderr).not.toContain("services still hold processes");
  expect(performance.now() - t0).toBeLessThan(6_000); // api's grace (1 s) and db's own stop; the bound was 10 s
}, 60_000);

test("a chain of four slow stops (2 s each, each after its dependent) outlasted the services' bound (the longest single stop + 5 s): the drain then sent a second SIGTERM to the one stopping and SIGKILL before its grace was over (any still waiting their turn too)", async () => {
  const stops = join(tempDir(), "stops");
  writeFileSync(stops, "");
  // Each records its SIGTERM, takes 2 s to stop, and has 2.5 s of grace: d, c, b, a in turn, ~8.5 s.
  const slow = (name: string, dependsOn: string[]) => ({ name, depends_on: dependsOn, grace_ms: 2500, argv: ["sh", "-c", `trap 'echo ${name} >> "$0"; sleep 2; exit 0' TERM; ${loop}`, stops] });
  const { run, init } = await bootWith([slow("a", []), slow("b", ["a"]), slow("c", ["b"]), slow("d", ["c"])], { grace_ms: 1000 });
  process.kill(init, "SIGTERM");
  const r = await run.result(60_000);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain("services still hold processes");
  expect(r.stderr).toContain("services stopped order=d,c,b,a");
  // One stop signal each, a dependency's only after its dependent had stopped.
  expect(readFileSync(stops, "utf8").trim().split("\n")).toEqual(["d", "c", "b", "a"]);
}, 90_000);

test("a service that exited while the shutdown waited for its dependent was restarted after its back-off: started during the shutdown, it outlived the init", async () => {
  const { run, init, list } = await bootWith([
    { name: "base", backoff_initial_ms: 0, argv: ["sh", "-c", "exec sleep 1000"] },
    { name: "slow", depends_on: ["base"], grace_ms: 3000, argv: ["sh", "-c", `trap '' TERM; ${loop}`] },
  ]);
  const base = (await list()).find((s) => s.name === "base")!.pid!;
  process.kill(init, "SIGTERM");
  await waitFor(() => run.log().includes("phase shutdown"), 10_000, "the shutdown");
  // While slow ignores its SIGTERM for 3 s, base (not yet asked to stop) dies.
  process.kill(base, "SIGKILL");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain("restarting after back-off service=base");
  expect(r.stderr.match(/service started service=base/g)?.length).toBe(1);
  const pids = [...r.stderr.matchAll(/service started service=base pid=(\d+)/g)].map((m) => Number(m[1]));
  expect(pids.filter((p) => processExists(p))).toEqual([]);
}, 60_000);

test("start of a stopping service answered 'started' and it ended stopped; start of a service in back-off answered 'started' and the back-off ran on; now: 75 saying why, and a start now", async () => {
  // The crasher fails once the test says so (it ran on its own clock before, and under load the
  // wait for "every service running" could miss its half second and see its 20 s back-off end).
  const go = join(tempDir(), "go");
  const { run, init, sock } = await bootWith([
    { name: "stubborn", grace_ms: 4000, argv: ["sh", "-c", `trap '' TERM; ${loop}`] },
    { name: "crasher", backoff_initial_ms: 20_000, argv: ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; exit 1', go] },
  ]);
  const stopping = runShippedAsync(["stop", "stubborn", "--socket", sock]);
  await waitFor(() => run.log().includes("stop requested service=stubborn"), 10_000, "the stop");
  const s = await runShippedAsync(["start", "stubborn", "--socket", sock]);
  expect(s.code).toBe(75);
  expect(s.err).toContain("stubborn is stopping; start it once it has stopped");
  await stopping;
  writeFileSync(go, "");
  await waitFor(() => run.log().includes("restarting after back-off service=crasher"), 10_000, "crasher in back-off");
  const c = await runShippedAsync(["start", "crasher", "--socket", sock]);
  expect(c.code).toBe(0);
  await waitFor(() => run.log().match(/service started service=crasher/g)?.length === 2, 5_000, "crasher started again at once (its back-off is 20 s)");
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("a service whose grace_ms passed the shutdown deadline (grace_ms + 10 s) was never sent SIGKILL and outlived a development init; the default deadline now covers the longest grace", async () => {
  const { run, init, list } = await bootWith([{ name: "long", grace_ms: 11_000, argv: ["sh", "-c", `trap '' TERM; ${loop}`] }], { grace_ms: 0 });
  const pid = (await list())[0]!.pid!;
  process.kill(init, "SIGTERM");
  const r = await run.result(60_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("service ignored SIGTERM for 11000 ms; sending SIGKILL");
  expect(r.stderr).not.toContain("shutdown deadline passed");
  expect(processExists(pid)).toBe(false);
}, 90_000);

test("pre_start was not tied to one run: each start during it began another (all at once), a stop left it running, and its end then spawned the main process beside the next run's", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const pres = join(dir, "pre-pids");
  const ends = join(dir, "pre-ends");
  const mains = join(dir, "mains");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "pre", pre_start: { argv: ["sh", "-c", `echo $$ >> ${pres}; sleep 3; echo end >> ${ends}`] }, argv: ["sh", "-c", `echo main >> ${mains}; exec sleep 1000`] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening") && existsSync(pres), 30_000, "the first pre_start");
  const lines = (f: string) => (existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").filter(Boolean) : []);
  for (let i = 0; i < 2; i++) expect((await runShippedAsync(["start", "pre", "--socket", sock])).code).toBe(0);
  await Bun.sleep(500);
  expect(lines(pres).length).toBe(1);
  const first = Number(lines(pres)[0]);
  expect((await runShippedAsync(["stop", "pre", "--socket", sock])).code).toBe(0);
  await waitFor(() => !processExists(first), 5_000, "the stopped run's pre_start killed");
  expect((await runShippedAsync(["start", "pre", "--socket", sock])).code).toBe(0);
  await waitFor(() => lines(mains).length === 1, 15_000, "the main process of the new run");
  await Bun.sleep(500);
  expect([lines(pres).length, lines(ends).length, lines(mains).length]).toEqual([2, 1, 1]);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("a dependent of a dependency that failed for good sat 'pending' with nothing said above debug; a warning names the dependency and who waits for it", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "dep", restart: "never", argv: ["/nonexistent/dep-command"] },
      { name: "app", depends_on: ["dep"], argv: ["sleep", "1000"] },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("services wait for a dependency that is down"), 15_000, "the warning");
  expect(run.log()).toMatch(/WARN supervisor: services wait for a dependency that is down; they start once it runs again dependency=dep state=failed waiting=app/);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 30_000);

test("a re-exec requested during the shutdown was 'invalid_request' (exit 64, a usage error); it is not now (exit 75), as a start is", async () => {
  const { run, sock } = await bootWith([{ name: "slow", grace_ms: 3000, argv: ["sh", "-c", `trap '' TERM; ${loop}`] }]);
  const off = runShippedAsync(["poweroff", "--socket", sock]);
  await waitFor(() => run.log().includes("phase shutdown"), 10_000, "the shutdown");
  const r = await runShippedAsync(["reexec", "--socket", sock]);
  expect(r.code).toBe(75);
  expect(r.err).toContain("re-exec: the machine is shutting down");
  await off;
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("the shutdown's 'services stopped order=' listed every stop since the boot (order=quiet,quiet,quiet after a stop and a restart); it lists the shutdown's own", async () => {
  const { run, init, sock } = await bootWith([{ name: "quiet", argv: ["sleep", "1000"] }]);
  expect((await runShippedAsync(["stop", "quiet", "--socket", sock])).code).toBe(0);
  expect((await runShippedAsync(["start", "quiet", "--socket", sock])).code).toBe(0);
  expect((await runShippedAsync(["restart", "quiet", "--socket", sock])).code).toBe(0);
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("services stopped order=quiet\n");
}, 60_000);

test("after a live re-exec `status` said 'up 135 ms' (the new image's own clock) for an init that had run a minute; uptime counts from the process's start, which a re-exec keeps", async () => {
  const { run, sock } = await bootWith([{ name: "quiet", argv: ["sleep", "1000"] }]);
  const up = async () => (JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out) as { uptimeMs: number; generation: number });
  await Bun.sleep(1500);
  const before = await up();
  expect(before.uptimeMs).toBeGreaterThanOrEqual(1500);
  expect((await runShippedAsync(["reexec", "--socket", sock])).code).toBe(0);
  await waitFor(async () => (await up().catch(() => ({ generation: 0, uptimeMs: 0 }))).generation === 1, 20_000, "the new image", { pollMs: 200 });
  expect((await up()).uptimeMs).toBeGreaterThanOrEqual(before.uptimeMs);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("logs -f ended with exit 71 (connect: ECONNREFUSED / ENOENT) when the socket was away for a moment, as at a live re-exec; it waits for it and follows on", async () => {
  const { run, sock } = await bootWith([{ name: "ticker", argv: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.05; done"] }]);
  const follower = spawnShipped(["logs", "ticker", "-f", "-n", "1", "--socket", sock]);
  let text = "";
  void (async () => {
    for await (const chunk of follower.stdout) text += new TextDecoder().decode(chunk);
  })();
  await waitFor(() => /tick-\d+/.test(text), 15_000, "the follower's first lines");
  // The socket gone for a second (a re-exec takes well under one: this makes the window certain).
  renameSync(sock, `${sock}.away`);
  await Bun.sleep(1000);
  renameSync(`${sock}.away`, sock);
  let mark = text.length;
  await waitFor(() => (text.slice(mark).match(/tick-\d+/g)?.length ?? 0) >= 5, 15_000, "lines followed after the socket came back");
  expect(follower.exitCode).toBe(null);
  // And across a real re-exec.
  expect((await runShippedAsync(["reexec", "--socket", sock])).code).toBe(0);
  mark = text.length;
  await waitFor(() => (text.slice(mark).match(/tick-\d+/g)?.length ?? 0) >= 10, 15_000, "ten lines followed after the re-exec");
  expect(follower.exitCode).toBe(null);
  follower.kill();
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
