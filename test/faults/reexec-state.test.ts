// Re-exec keeps every service's state: stopped, failed and exited services stayed down only until the next image started them again.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import { runShipped, spawnShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("after a live re-exec a stopped, a failed (storm limit) and an exited restart=never service stay down, and a stopping one still gets SIGKILL when its grace ends", async () => {
  const dir = tempDir();
  const sock = join(dir, "run/control");
  const graceMs = 6000;
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    heartbeat_ms: 20,
    heartbeat_log_every: 0,
    services: [
      { name: "parked", argv: ["sleep", "1000"], restart: "always" },
      { name: "stormy", argv: ["sh", "-c", "exit 3"], restart: "always", backoff_initial_ms: 10, backoff_max_ms: 10, storm_max: 2, storm_window_ms: 600_000 },
      { name: "oneshot", argv: ["true"], restart: "never" },
      // Ignores SIGTERM: only the SIGKILL at the end of its grace period ends it.
      { name: "stubborn", argv: ["sh", "-c", "trap '' TERM; echo up >&2; while :; do sleep 0.05; done"], restart: "always", grace_ms: graceMs },
    ],
  });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => /restart storm: .*service=stormy/.test(run.log()), 15_000, "stormy to give up");
  await waitFor(() => /service exited; restart=never, staying down service=oneshot/.test(run.log()), 15_000, "oneshot to exit");
  // "up" is written once its trap is set: a stop before that would end it at once (no grace to carry over).
  await waitFor(() => run.log().includes("stubborn: up\n"), 15_000, "stubborn to run");
  expect(runShipped(["stop", "parked", "--socket", sock]).code).toBe(0);
  // The stop of stubborn waits out its grace period: start it, then re-exec while it is in "stopping".
  const stopping = spawnShipped(["stop", "stubborn", "--socket", sock, "--timeout", "20000"]);
  // Watched over the socket from here (a few ms a look): each look by a spawned CLI took a start-up,
  // and "stopping" seen late in the grace left too little of it for the re-exec's preflight and handoff.
  const stateOf = async (name: string) => ((await controlRequest({ op: "services" }, { path: sock })) as { name: string; state: string }[]).find((s) => s.name === name)?.state;
  await waitFor(async () => (await stateOf("stubborn")) === "stopping", 10_000, "stubborn stopping");
  const stopAsked = performance.now();
  // Half-way through the grace: a new image that started a fresh grace would kill at 1.5 x graceMs.
  await Bun.sleep(graceMs / 2);
  process.kill(init, "SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 15_000, "the re-exec");
  const afterReexec = () => run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "));
  // The new image keeps the stop request and the rest of the grace period: SIGKILL comes on time.
  // The line says how long since the stop signal: its age is carried across the exec, so a few ms either way.
  const ignoredFor = () => Number(/service ignored SIGTERM for (\d+) ms; sending SIGKILL service=stubborn/.exec(afterReexec())?.[1] ?? Number.NaN);
  await waitFor(() => !Number.isNaN(ignoredFor()), graceMs + 10_000, "the SIGKILL of stubborn");
  expect(Math.abs(ignoredFor() - graceMs)).toBeLessThan(100);
  const killedAfter = performance.now() - stopAsked;
  expect(killedAfter).toBeGreaterThan(graceMs - 200); // the whole grace (stopAsked is seen a few ms after the stop)
  expect(killedAfter).toBeLessThan(graceMs * 1.25); // not a fresh grace period started by the new image (>= 1.5 x)
  await waitFor(() => /service stopped service=stubborn/.test(afterReexec()), 5_000, "stubborn stopped");
  stopping.kill(); // its connection went with the old image
  // Give the new image beats to (wrongly) restart anything, then look. Its services were adopted
  // before its heartbeat started: stormy's back-off (10 ms) armed then is due long before 25 beats
  // (20 ms each) later, counted by the new image itself.
  await waitFor(() => /heartbeat: first heartbeat/.test(afterReexec()), 10_000, "the new image beat", { explain: afterReexec });
  const beats = async () => ((await controlRequest({ op: "status" }, { path: sock })) as { heartbeat: { beats: number } | null }).heartbeat?.beats ?? 0;
  const firstBeats = await beats();
  await waitFor(async () => (await beats()) >= firstBeats + 25, 15_000, "25 more beats of the new image", { pollMs: 50, explain: afterReexec });
  const services = JSON.parse(runShipped(["services", "--json", "--socket", sock]).stdout) as { name: string; state: string; pid: number | null }[];
  const state = Object.fromEntries(services.map((s) => [s.name, s.state]));
  expect(state).toEqual({ parked: "stopped", stormy: "failed", oneshot: "exited", stubborn: "stopped" });
  for (const s of services) expect(s.pid).toBeNull();
  expect(afterReexec()).not.toMatch(/service started service=(parked|stormy|oneshot|stubborn)/);
  process.kill(init, "SIGTERM");
  await run.result(20_000);
}, 90_000);
