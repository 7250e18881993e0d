// A `main: true` service ends the machine: ordered shutdown, one status line, and its exit status leaves the init (or its PID namespace).
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseStatusLine } from "../../src/boot/exit-status.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { lines, read } from "./file-text.ts";

afterEach(killLeftovers);

/** A main service running `script` once `other` (a service that records its stop) is up, plus that service. */
function mainConfig(dir: string, script: string, extra: Record<string, unknown> = {}) {
  const out = join(dir, "events.log");
  const cfg = writeJson(dir, "config.json", {
    heartbeat_ms: 50,
    services: [
      { name: "other", argv: ["sh", "-c", `trap 'echo stop-other >> ${out}; exit 0' TERM; echo start-other >> ${out}; while :; do sleep 0.02; done`] },
      { name: "app", argv: ["sh", "-c", `until grep -q start-other ${out} 2>/dev/null; do sleep 0.02; done; echo start-app >> ${out}; ${script}`], depends_on: ["other"], main: true, restart: "always", ...extra },
    ],
  });
  return { cfg, out };
}

describe("main service", () => {
  for (const [what, script, code, signal, exit] of [
    ["exit 3", "exit 3", 3, null, 3],
    ["SIGKILL", "kill -KILL $$", null, 9, 137],
    ["exit 0", "exit 0", 0, null, 0],
  ] as const) {
    test(`as PID 1 of a PID namespace, a main service ending by ${what} ends the namespace with ${exit} after the ordered shutdown (not SIGINT from reboot(2), not a restart)`, async () => {
      const dir = tempDir();
      const { cfg, out } = mainConfig(dir, script);
      const r = await start(["boot", ...bootArgs(), "--config", cfg], { pid1: true }).result(30_000);
      // Not restarted despite restart=always; the other service was stopped in order.
      expect(lines(out)).toEqual(["start-other", "start-app", "stop-other"]);
      expect(r.stderr).toContain("mode=pid1");
      expect(r.stderr).toContain("main service exited; shutting the machine down service=app");
      expect(r.stderr).toMatch(/shutdown: phase shutdown reason=main-exited mode=poweroff/);
      expect(r.stderr).toContain("services stopped order=other");
      const status = parseStatusLine(r.stdout);
      expect(status).toMatchObject({ reason: "main-exited", service: "app", code, signal, exit });
      expect(Number.isInteger(status!.beats) && Number.isInteger(status!.errors)).toBe(true);
      expect(r.code).toBe(exit);
    }, 60_000);
  }

  test("outside PID 1, boot exits with the main service's status and prints the status line", async () => {
    const dir = tempDir();
    const { cfg } = mainConfig(dir, "exit 3");
    const r = await start(["boot", ...bootArgs(), "--config", cfg]).result(30_000);
    expect(parseStatusLine(r.stdout)).toMatchObject({ reason: "main-exited", service: "app", code: 3, signal: null, exit: 3 });
    expect(r.stdout.trim().split("\n").filter((l) => l.startsWith("vector-boot-status ")).length).toBe(1);
    expect(r.code).toBe(3);
  }, 60_000);

  test("a SIGTERM shutdown with a main service configured reports the request as the reason and exits 0", async () => {
    const dir = tempDir();
    const { cfg, out } = mainConfig(dir, "trap 'exit 0' TERM; while :; do sleep 0.02; done");
    const run = start(["boot", ...bootArgs(), "--config", cfg, "--set", `run_dir=${join(dir, "run")}`]);
    await waitFor(() => read(out).includes("start-app"), 20_000, "the main service to start");
    // `services` says which one is main (an operator must know which exit ends the machine).
    await waitFor(() => run.log().includes("control socket listening"), 20_000, "the control socket");
    const listed = await runShippedAsync(["services", "--json", "--socket", join(dir, "run", "control")]);
    expect((JSON.parse(listed.out) as { name: string; main: boolean }[]).map((s) => [s.name, s.main])).toEqual([["other", false], ["app", true]]);
    const table = await runShippedAsync(["services", "--socket", join(dir, "run", "control")]);
    expect(table.out).toMatch(/^app \(main\) +running/m);
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(30_000);
    expect(parseStatusLine(r.stdout)).toMatchObject({ reason: "SIGTERM", service: "app", code: null, signal: null, exit: 0 });
    expect(r.code).toBe(0);
  }, 60_000);

  test("a config with two main services is refused naming the second (exit 78)", async () => {
    const dir = tempDir();
    const cfg = writeJson(dir, "config.json", { services: [{ name: "a", argv: ["true"], main: true }, { name: "b", argv: ["true"], main: true }] });
    const r = await start(["boot", ...bootArgs(), "--config", cfg]).result(30_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("services[1].main");
    expect(r.stderr).toContain("at most one service may be main");
  }, 60_000);
});

test("a main service whose dependency gave up (restart storm), directly or through another service, waited as pending for ever and the machine never ended: it ends with 127, naming the dependency", async () => {
  for (const chain of [false, true]) {
    const dir = tempDir();
    const cfg = writeJson(dir, "config.json", {
      heartbeat_ms: 50,
      services: [
        // Never ready (its file never appears): it exits before its dependents may start.
        { name: "db", argv: ["sh", "-c", "exit 3"], restart: "always", backoff_initial_ms: 10, storm_max: 1, ready: { file: join(dir, "db-ready") } },
        ...(chain ? [{ name: "api", argv: ["sleep", "1000"], depends_on: ["db"] }] : []),
        { name: "app", argv: ["sleep", "1000"], depends_on: [chain ? "api" : "db"], main: true },
      ],
    });
    const r = await start(["boot", ...bootArgs(), "--config", cfg], { pid1: true }).result(60_000);
    expect(r.stderr).toContain("restart storm");
    expect(r.stderr).toMatch(/main service cannot start: a dependency is down for good; shutting the machine down service=app dependency=db state=failed status=127/);
    expect(r.stderr).toMatch(/shutdown: phase shutdown reason=main-exited mode=poweroff/);
    expect(parseStatusLine(r.stdout)).toMatchObject({ reason: "main-exited", service: "app", exit: 127 });
    expect(r.stderr).not.toMatch(/service started service=(app|api)/);
    expect({ chain, code: r.code }).toEqual({ chain, code: 127 });
  }
}, 150_000);
