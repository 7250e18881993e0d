// post_stop is part of its service's stop: the shutdown, the dependencies it stops next, `stop` and the next run wait for it.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, killRunning, pidsRunning, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { lines } from "./file-text.ts";

afterEach(() => {
  killLeftovers();
  killRunning(["sleep", "3000.71"]);
  killRunning(["sleep", "3001.37"]);
});

const loop = "while :; do sleep 0.05; done";

test("at shutdown the drain killed every post_stop (status 143) and db got its stop signal while api's post_stop still ran; each post_stop ends before its dependency is stopped", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  // Each post_stop takes a while (flushing, unregistering) before it records its end.
  const svc = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    ...extra,
    argv: ["sh", "-c", `trap 'echo ${name}-term >> ${ev}; exit 0' TERM; echo ${name}-up >> ${ev}; ${loop}`],
    post_stop: { argv: ["sh", "-c", `sleep 0.4; echo ${name}-post >> ${ev}`], timeout_ms: 10_000 },
  });
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), services: [svc("db"), svc("api", { depends_on: ["db"] })] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => lines(ev).includes("api-up") && run.log().includes("control socket listening"), 30_000, "both services");
  process.kill(await run.initPid(), "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(130); // power-off of a PID namespace: its init ends by SIGINT
  expect(r.stderr).not.toContain("post_stop failed");
  // db-up and api-up race (api starts once db is spawned, not once it wrote its line: no readiness).
  expect(lines(ev).slice(0, 2).sort()).toEqual(["api-up", "db-up"]);
  expect(lines(ev).slice(2)).toEqual(["api-term", "api-post", "db-term", "db-post"]);
}, 60_000);

test("`stop` answered before the service's post_stop had run, and a crashing service's next run started while the last run's post_stop still ran; both wait for it", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const sock = join(dir, "run", "control");
  const post = (tag: string) => ({ argv: ["sh", "-c", `echo ${tag}-post-begin >> ${ev}; sleep 0.3; echo ${tag}-post-end >> ${ev}`], timeout_ms: 10_000 });
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    services: [
      { name: "crash", argv: ["sh", "-c", `echo crash-main >> ${ev}; sleep 0.05; exit 1`], restart: "always", backoff_initial_ms: 10, backoff_factor: 1, storm_max: 100, post_stop: post("crash") },
      { name: "quiet", argv: ["sh", "-c", `echo quiet-main >> ${ev}; exec sleep 1000`], post_stop: post("quiet") },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => lines(ev).includes("quiet-main") && run.log().includes("control socket listening"), 30_000, "the services");
  const stop = await runShippedAsync(["stop", "quiet", "--socket", sock]);
  expect(stop.code).toBe(0);
  // Answered once the post_stop is over.
  expect(lines(ev).filter((l) => l.startsWith("quiet-"))).toEqual(["quiet-main", "quiet-post-begin", "quiet-post-end"]);
  await waitFor(() => lines(ev).filter((l) => l === "crash-main").length >= 3, 30_000, "three runs of the crashing service");
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
  // Each run, then its post_stop from beginning to end, then the next run: never one inside another.
  const crash = lines(ev).filter((l) => l.startsWith("crash-"));
  const cycle = ["crash-main", "crash-post-begin", "crash-post-end"];
  const expected = crash.map((_, i) => cycle[i % 3]!);
  expect(crash).toEqual(expected);
}, 60_000);

test("a post_stop longer than the services' stop bound (grace + 5 s) was cut short by the drain, logged as processes SIGKILL could not end; its timeout_ms counts in the bound and the shutdown deadline", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    grace_ms: 100,
    services: [{ name: "slow", grace_ms: 100, argv: ["sh", "-c", `echo up >> ${ev}; exec sleep 1000`], post_stop: { argv: ["sh", "-c", `sleep 5.5; echo post >> ${ev}`], timeout_ms: 20_000 } }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => lines(ev).includes("up") && run.log().includes("control socket listening"), 30_000, "the service");
  process.kill(await run.initPid(), "SIGTERM");
  const r = await run.result(60_000);
  expect(r.code).toBe(130);
  expect(r.stderr).not.toContain("services still hold processes");
  expect(r.stderr).not.toContain("post_stop failed");
  expect(lines(ev)).toEqual(["up", "post"]);
}, 60_000);

test("what a post_stop forked off (`sleep &`, and one that left its process group with setsid) ran on after `stop` answered 'stopped': both are gone when the stop is over", async () => {
  const dir = tempDir();
  const pids = join(dir, "pids");
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    services: [{ name: "svc", argv: ["sleep", "1000"], post_stop: { argv: ["sh", "-c", `sleep 3000.71 & echo $! >> ${pids}; setsid sleep 3001.37 & echo $! >> ${pids}; sleep 0.1`], timeout_ms: 10_000 } }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("service started service=svc") && run.log().includes("control socket listening"), 30_000, "the service");
  const stop = await runShippedAsync(["stop", "svc", "--socket", sock]);
  expect(stop.code, stop.err).toBe(0);
  const left = lines(pids).map(Number);
  expect(left).toHaveLength(2);
  // Host pids are not the namespace's: looked for by their command lines instead.
  await waitFor(() => pidsRunning(["sleep", "3000.71"]).length === 0 && pidsRunning(["sleep", "3001.37"]).length === 0, 5_000, "the post_stop's children gone", { explain: () => `sleep 3000.71: ${pidsRunning(["sleep", "3000.71"])}, sleep 3001.37: ${pidsRunning(["sleep", "3001.37"])}` });
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 60_000);
