// `vector-boot boot` with real services: ordered stop, grace then SIGKILL, restart back-off, storm limit.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { killLeftovers, loggedAt, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { bootArgs } from "./boot-args.ts";
import { lines, read } from "./file-text.ts";

afterEach(killLeftovers);

/** A service that records its start once its TERM trap is set (a TERM right after the record is never lost), and on TERM records its stop and exits. */
function polite(name: string, out: string, extra: Record<string, unknown> = {}) {
  return { name, argv: ["sh", "-c", `trap 'echo stop-${name} >> ${out}; exit 0' TERM; echo start-${name} >> ${out}; while :; do sleep 0.02; done`], grace_ms: 3000, ...extra };
}

/** `svc` made ready by a file it creates right after recording its start, so `depends_on` orders the records. */
function readyAfterStart(svc: ReturnType<typeof polite>, dir: string) {
  const flag = join(dir, `${svc.name}.ready`);
  const [shell, opt, script] = svc.argv as [string, string, string];
  return { ...svc, argv: [shell, opt, script.replace("; while :;", `; touch ${flag}; while :;`)], ready: { file: flag, interval_ms: 10 } };
}

describe("boot mode services", () => {
  test("TERM with three services, one ignoring TERM: others stop at once, the stubborn one is killed at the grace limit", async () => {
    const dir = tempDir();
    const out = join(dir, "events.log");
    const cfg = writeJson(dir, "config.json", {
      heartbeat_ms: 50,
      services: [
        polite("alpha", out),
        { name: "stubborn", argv: ["sh", "-c", `trap '' TERM; echo start-stubborn >> ${out}; while :; do sleep 0.02; done`], grace_ms: 1500 },
        polite("gamma", out),
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => lines(out).filter((l) => l.startsWith("start-")).length === 3, 10_000, "three services started");
    const t0 = performance.now();
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(10_000);
    const took = performance.now() - t0;
    expect(r.code).toBe(0);
    expect(lines(out).filter((l) => l.startsWith("stop-")).sort()).toEqual(["stop-alpha", "stop-gamma"]);
    expect(r.stderr).toMatch(/service ignored SIGTERM for 1500 ms; sending SIGKILL service=stubborn/);
    expect(took).toBeGreaterThanOrEqual(1_400);
    // Timed on the init's own log clock: this process's polling and the exit's sync (seconds on a busy
    // disk) are no part of "at once" or "at the grace limit".
    const asked = loggedAt(r.stderr, /shutdown requested reason=SIGTERM/)!;
    const killed = loggedAt(r.stderr, /sending SIGKILL service=stubborn/)!;
    for (const name of ["alpha", "gamma"]) expect(loggedAt(r.stderr, new RegExp(`service stopped service=${name} `))!).toBeLessThan(killed);
    expect(killed - asked).toBeGreaterThanOrEqual(1_400);
    expect(killed - asked).toBeLessThan(1_500 + 1_000);
  }, 30_000);

  test("services stop in reverse dependency order (recorded)", async () => {
    const dir = tempDir();
    const out = join(dir, "events.log");
    const cfg = writeJson(dir, "config.json", {
      // Without readiness a dependency counts as running once spawned, and two shells race to their
      // first line; each one is ready (the file probe) only once its start is recorded.
      services: [
        readyAfterStart(polite("db", out), dir),
        readyAfterStart(polite("api", out, { depends_on: ["db"] }), dir),
        readyAfterStart(polite("web", out, { depends_on: ["api"] }), dir),
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => lines(out).length === 3, 10_000, "three services started");
    expect(lines(out)).toEqual(["start-db", "start-api", "start-web"]);
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(10_000);
    expect(r.code).toBe(0);
    expect(lines(out).slice(3)).toEqual(["stop-web", "stop-api", "stop-db"]);
    expect(r.stderr).toContain("services stopped order=web,api,db");
  }, 30_000);

  test("a crashing on-failure service is restarted with growing back-off, then stopped by the storm limit", async () => {
    const dir = tempDir();
    const out = join(dir, "starts.log");
    const cfg = writeJson(dir, "config.json", {
      services: [{ name: "crasher", argv: ["sh", "-c", `date +%s%N >> ${out}; exit 3`], restart: "on-failure", backoff_initial_ms: 100, backoff_factor: 2, storm_max: 3, storm_window_ms: 60000 }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    // The storm decision follows the fourth start's exit: a SIGTERM before it would stop the service first.
    await waitFor(() => /restart storm/.test(run.log()), 10_000, "the storm limit");
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(10_000);
    expect(r.stderr).toMatch(/ERROR supervisor: restart storm: 3 restarts within 60000 ms \(limit 3\); giving up service=crasher/);
    const t = lines(out).map((l) => Number(l) / 1e6);
    expect(t.length).toBe(4);
    const gaps = [t[1]! - t[0]!, t[2]! - t[1]!, t[3]! - t[2]!];
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[2]).toBeGreaterThanOrEqual(395);
  }, 30_000);

  test("a restart: never service that exits stays down", async () => {
    const dir = tempDir();
    const out = join(dir, "starts.log");
    const cfg = writeJson(dir, "config.json", { services: [{ name: "once", argv: ["sh", "-c", `echo started >> ${out}; exit 1`], restart: "never" }] });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    // The decision, not a clock: a SIGTERM before the exit is handled would stop the service instead.
    await waitFor(() => run.log().includes("restart=never, staying down service=once"), 10_000, "the exit handled");
    await Bun.sleep(700); // a window for a wrongful restart to show (the default back-off is shorter)
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(10_000);
    expect(lines(out)).toEqual(["started"]);
    expect(r.stderr).toContain("restart=never, staying down service=once");
  }, 30_000);

  test("as PID 1 the boot runs services and the shutdown ends the namespace with reboot(2)", async () => {
    const dir = tempDir();
    const out = join(dir, "events.log");
    const cfg = writeJson(dir, "config.json", { services: [polite("svc", out)] });
    // 3 s: the shell must have recorded its start and set its trap before the shutdown (a loaded host can take a second).
    const r = await start(["boot", ...bootArgs(), "--config", cfg, "--set", "shutdown_after=3"], { pid1: true }).result(20_000);
    expect(lines(out)).toEqual(["start-svc", "stop-svc"]);
    expect(r.stderr).toContain("mode=pid1");
    expect(r.stderr).toContain("poweroff now");
    // reboot(2) in a PID namespace ends it: its init dies of SIGINT (power off), unshare reports 130.
    expect(r.code).toBe(130);
  }, 30_000);

  test("a service runs with its configured uid, gid, groups, cwd, env and no_new_privs", async () => {
    const dir = tempDir();
    const out = join(dir, "ids.log");
    const { chmodSync } = await import("node:fs");
    chmodSync(dir, 0o777);
    const cfg = writeJson(dir, "config.json", {
      services: [{ name: "nobody", argv: ["sh", "-c", `echo "$(id -u) $(id -g) $(id -G) $(pwd) $GREETING $(grep NoNewPrivs /proc/self/status | tr -d '\\t ')" > ${out}`], uid: 65534, gid: 65534, groups: [65534, 100], cwd: "/usr", env: { GREETING: "hi" }, restart: "never" }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => read(out).length > 0, 10_000, "service output");
    process.kill(run.proc.pid, "SIGTERM");
    await run.result(10_000);
    expect(read(out).trim()).toBe("65534 65534 65534 100 /usr hi NoNewPrivs:1");
  }, 30_000);

  test("services get an empty capability set unless configured, even as root; a listed capability survives a uid change", async () => {
    const dir = tempDir();
    const { chmodSync } = await import("node:fs");
    chmodSync(dir, 0o777);
    const caps = (name: string) => `grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status | tr -d '\\t' | tr '\\n' ' ' > ${join(dir, name)}`;
    const cfg = writeJson(dir, "config.json", {
      services: [
        { name: "bare", argv: ["sh", "-c", caps("bare")], restart: "never" },
        { name: "web", argv: ["sh", "-c", caps("web")], capabilities: ["CAP_NET_BIND_SERVICE"], restart: "never" },
        { name: "webuser", argv: ["sh", "-c", caps("webuser")], uid: 65534, gid: 65534, capabilities: ["CAP_NET_BIND_SERVICE"], restart: "never" },
        { name: "tool", argv: ["sh", "-c", caps("tool")], keep_all_capabilities: true, restart: "never" },
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => ["bare", "web", "webuser", "tool"].every((n) => read(join(dir, n)).length > 0), 10_000, "capability reports");
    process.kill(run.proc.pid, "SIGTERM");
    await run.result(10_000);
    expect(read(join(dir, "bare")).trim()).toBe("CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000");
    expect(read(join(dir, "web")).trim()).toBe("CapPrm:0000000000000400 CapEff:0000000000000400 CapBnd:0000000000000400 CapAmb:0000000000000400");
    expect(read(join(dir, "webuser")).trim()).toBe("CapPrm:0000000000000400 CapEff:0000000000000400 CapBnd:0000000000000400 CapAmb:0000000000000400");
    expect(read(join(dir, "tool"))).not.toContain("CapEff:0000000000000000");
  }, 30_000);

  test("as PID 1 the init drops the capabilities it does not need after boot (and keeps those a service is given)", async () => {
    const dir = tempDir();
    const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), services: [{ name: "clock", argv: ["sleep", "1000"], capabilities: ["CAP_SYS_TIME"] }] });
    const run = start(["boot", "--config", cfg], { pid1: true });
    const init = await run.initPid();
    await waitFor(() => run.log().includes("capabilities dropped from the bounding set"), 15_000, "privileges dropped");
    const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(read(`/proc/${init}/status`))![1]}`);
    const has = (bit: number) => ((bnd >> BigInt(bit)) & 1n) === 1n;
    expect(has(16)).toBe(false); // CAP_SYS_MODULE
    expect(has(17)).toBe(false); // CAP_SYS_RAWIO
    expect(has(25)).toBe(true); // CAP_SYS_TIME: the service is configured with it
    expect(has(22)).toBe(true); // CAP_SYS_BOOT: the init still powers off
    expect(has(21)).toBe(true); // CAP_SYS_ADMIN: mounts
    process.kill(init, "SIGTERM");
    const r = await run.result(15_000);
    expect(r.stderr).toContain("poweroff now");
  }, 30_000);

  test("as PID 1, SIGPWR (counted by a C handler, never JavaScript in the handler) powers off in order", async () => {
    const dir = tempDir();
    const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state") });
    const run = start(["boot", "--config", cfg], { pid1: true, env: { JSC_SIGNAL_FOR_GC: "40" } });
    const init = await run.initPid();
    await waitFor(() => run.log().includes("phase heartbeat"), 15_000, "boot up");
    process.kill(init, 30); // SIGPWR (Bun has no name for it)
    const r = await run.result(15_000);
    expect(r.stderr).toContain('shutdown requested reason="SIGPWR (power failure)" mode=poweroff');
    expect(r.stderr).toContain("poweroff now");
    expect(r.code).toBe(130);
  }, 30_000);

  test("as PID 1 without JSC_SIGNAL_FOR_GC (no pre-init), SIGPWR went to the JS engine's GC handler: no power-off. It is shared now: an outside SIGPWR powers off, the GC's own (continuous collection) still suspend its threads", async () => {
    const dir = tempDir();
    const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 1 });
    const run = start(["boot", "--config", cfg], { pid1: true, env: { JSC_SIGNAL_FOR_GC: "", BUN_JSC_collectContinuously: "1" } });
    const init = await run.initPid();
    await waitFor(() => run.log().includes("phase heartbeat"), 30_000, "boot up");
    const beats = () => [...run.log().matchAll(/ beat n=(\d+) /g)].length;
    const b0 = beats();
    await waitFor(() => beats() >= b0 + 20, 30_000, "20 beats while the GC collects without pause");
    expect(run.log()).not.toContain("JSC_SIGNAL_FOR_GC not set");
    process.kill(init, 30); // SIGPWR
    const r = await run.result(30_000);
    expect(r.stderr).toContain('shutdown requested reason="SIGPWR (power failure)" mode=poweroff');
    expect(r.code).toBe(130);
  }, 60_000);
});
