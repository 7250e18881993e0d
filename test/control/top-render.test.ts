// `vector-boot top` without a terminal: the frame fits 80x24 whatever the snapshot holds; keys, sort and confirmation.
import { describe, expect, test } from "bun:test";
import { Ring } from "../../src/heartbeat/beat-stats.ts";
import { decodeKeys } from "../../src/cli/top-keys.ts";
import { chooseCharset, renderFrame, sparkline } from "../../src/cli/top-render.ts";
import { statusSchema, type Snapshot, type TopService } from "../../src/cli/top-snapshot.ts";
import { initialState, ordered, step } from "../../src/cli/top-state.ts";

const svc = (name: string, over: Partial<TopService> = {}): TopService => ({
  name,
  state: "running",
  pid: 1000 + name.length,
  restarts: 0,
  runningMs: 65_000,
  ready: true,
  cgroup: { memoryBytes: 12 * 1048576, cpuUsec: 1_000_000, pids: 3 },
  cpuPct: 1.5,
  ...over,
});

function snapshot(services: TopService[], extra: Record<string, unknown> = {}): Snapshot {
  const status = statusSchema.parse({
    pid: 1,
    version: "0.1.0",
    uptimeMs: 3_723_000,
    generation: 2,
    heartbeat: {
      periodMs: 100,
      beats: 1234,
      missed: 3,
      lastBeat: 1234,
      jitterMs: { p50: 0.14, p99: 2.63, max: 9.1 },
      latenessRecentMs: Array.from({ length: 64 }, (_, i) => (i % 9) * 0.5),
      interrupts: [
        { name: "cpu_pressure", active: true, raised: 2 },
        { name: "memory_pressure", active: false, raised: 0 },
      ],
      actions: 1,
      recentRecords: [
        { agoMs: 4000, kind: "raised", interrupt: "cpu_pressure", action: null, target: null, ok: null, detail: null },
        { agoMs: 3900, kind: "action", interrupt: "cpu_pressure", action: "throttle", target: services[0]?.name ?? null, ok: true, detail: `pid 4242 duty 0.2 of 100 ms; inputs ${"x".repeat(200)}` },
      ],
    },
    journal: { nextSeq: 42, durableSeq: 41, failed: null, checkpoint: { file: "ckpt-000041.gguf", coveredSeq: 41, writtenAt: Date.now() - 125_000, ageMs: 125_000 } },
    fleet: { fleet: "production-fleet-with-a-long-name", node: "node-".repeat(20), role: "leader", singletons: [{ service: "db", role: "leader" }] },
    ...extra,
  });
  return { status, services, at: 0 };
}

const opts = { width: 80, height: 24, unicode: true, color: false };
const width = (l: string) => Array.from(l).length;

describe("top frame", () => {
  test("a snapshot with 64-character names and 40 services stays within 80 columns and 24 rows, the selection on screen", () => {
    const services = Array.from({ length: 40 }, (_, i) => svc(`${String(i).padStart(2, "0")}-${"a-very-long-service-name".repeat(3)}`.slice(0, 64), { restarts: i, statusText: "x" } as Partial<TopService>));
    const state = { ...initialState, selected: services[33]!.name };
    const lines = renderFrame(snapshot(services), state, opts);
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(width(l)).toBeLessThanOrEqual(80);
    const selected = lines.filter((l) => l.startsWith(">"));
    expect(selected.length).toBe(1);
    expect(selected[0]).toContain("33-a-very");
    expect(lines.join("\n")).toContain("of 40]");
    expect(lines.at(-1)).toBe("up/down select  s sort  r restart  q quit");
  });

  test("every figure the issue asks for is in the frame: heartbeat percentiles, missed beats, sparkline, interrupts, actions, journal, checkpoint age, fleet role", () => {
    const text = renderFrame(snapshot([svc("db"), svc("api", { cpuPct: null, cgroup: null })]), initialState, opts).join("\n");
    expect(text).toContain("late p50 0.14 p99 2.63 max 9.10 ms");
    expect(text).toContain("missed 3");
    expect(text).toMatch(/late [▁▂▃▄▅▆▇█]{40,}/);
    expect(text).toContain("interrupts on: cpu_pressure");
    expect(text).toContain("cpu_pressure -> throttle db: ok");
    expect(text).toContain("journal seq 41 (durable 41)  checkpoint 2m05s ago (seq 41)");
    expect(text).toContain("fleet production-fleet-with-a-long-name");
    expect(text).toMatch(/\n> db +running +yes +1002 +0 +1\.5 +12M +3 +1m05s\n/);
    expect(text).toMatch(/\n {2}api +running +yes +1003 +0 +- +- +- +1m05s\n/);
  });

  test("narrow and short terminals (40x8, 1x1) still get at most their size, the footer kept", () => {
    for (const [w, h] of [[40, 8], [1, 1], [80, 3]] as const) {
      const lines = renderFrame(snapshot([svc("db"), svc("api")]), { ...initialState, confirm: "db" }, { ...opts, width: w, height: h });
      expect(lines.length).toBeLessThanOrEqual(h);
      for (const l of lines) expect(width(l)).toBeLessThanOrEqual(w);
      expect(lines.at(-1)!.startsWith("restart db? [y/N]".slice(0, w - 1))).toBe(true);
    }
  });

  test("a short terminal shows three service rows before any interrupt record", () => {
    const services = ["a", "b", "c", "d", "e"].map((n) => svc(n));
    const rowsOf = (lines: string[]) => lines.filter((l) => /^[> ] [a-e] /.test(l)).length;
    const short = renderFrame(snapshot(services), initialState, { ...opts, height: 12 });
    expect(rowsOf(short)).toBe(3);
    expect(short.join("\n")).not.toContain("recent interrupts");
    const taller = renderFrame(snapshot(services), initialState, { ...opts, height: 14 });
    expect(rowsOf(taller)).toBe(3);
    expect(taller.filter((l) => l.includes(" ago  ")).length).toBe(1);
    expect(rowsOf(renderFrame(snapshot(services), initialState, opts))).toBe(5);
  });

  test("control characters from the instance never reach the terminal (no escape injection)", () => {
    const text = renderFrame(snapshot([svc("db")], { version: "1\x1b]0;owned\x07" }), initialState, opts).join("\n");
    expect(text).not.toContain("\x1b");
    expect(text).not.toContain("\x07");
  });

  test("without a UTF-8 locale, or with TERM=dumb, the sparkline is ASCII; NO_COLOR only turns inverse video off", () => {
    expect(chooseCharset({ LANG: "C.UTF-8", TERM: "xterm" })).toEqual({ unicode: true, color: true });
    expect(chooseCharset({ LC_ALL: "C", LANG: "en_US.UTF-8" })).toEqual({ unicode: false, color: true });
    expect(chooseCharset({ LANG: "en_US.utf8", TERM: "dumb" })).toEqual({ unicode: false, color: false });
    expect(chooseCharset({ LANG: "C.UTF-8", NO_COLOR: "1" })).toEqual({ unicode: true, color: false });
    expect(chooseCharset({})).toEqual({ unicode: false, color: true });
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8, false)).toBe(".:-=+*#@");
    expect(sparkline([0, 7], 8, true)).toBe("▁█");
    expect(sparkline([0, 0, 0], 2, true)).toBe("▁▁");
    const ascii = renderFrame(snapshot([svc("db")]), initialState, { ...opts, unicode: false }).join("\n");
    expect(ascii).toMatch(/^[\x20-\x7e\n]*$/);
  });

  test("with colour the selected row alone is in inverse video", () => {
    const lines = renderFrame(snapshot([svc("db"), svc("api")]), { ...initialState, selected: "api" }, { ...opts, color: true });
    expect(lines.filter((l) => l.includes("\x1b[7m"))).toEqual([expect.stringMatching(/^\x1b\[7m> api/)]);
  });
});

describe("top keys and state", () => {
  test("arrows in normal and application cursor mode, Ctrl-C and letters decode; an unknown escape sequence is one key, not letters", () => {
    expect(decodeKeys("\x1b[A\x1bOB\x1b[5~qsry\x03")).toEqual(["up", "down", "page-up", "quit", "sort", "restart", "yes", "interrupt"]);
    expect(decodeKeys("\x1b[15~\x1b")).toEqual(["other", "escape"]);
  });

  test("r asks first; only y restarts, any other key cancels; the selection follows the service through a re-sort", () => {
    const rows = [svc("zeta"), svc("alpha")];
    let s = step(initialState, "down", rows).state;
    expect(s.selected).toBe("alpha");
    let r = step(s, "restart", rows);
    expect(r.effect).toBeNull();
    expect(r.state.confirm).toBe("alpha");
    r = step(r.state, "no", rows);
    expect(r.effect).toBeNull();
    expect(r.state.confirm).toBeNull();
    r = step(step(r.state, "restart", rows).state, "enter", rows);
    expect(r.effect).toBeNull();
    r = step(step(r.state, "restart", rows).state, "yes", rows);
    expect(r.effect).toEqual({ type: "restart", name: "alpha" });
    s = step(r.state, "sort", rows).state;
    expect(s.sort).toBe("name");
    expect(ordered(rows, s.sort).map((x) => x.name)).toEqual(["alpha", "zeta"]);
    expect(s.selected).toBe("alpha");
    expect(ordered([svc("a", { cpuPct: 1 }), svc("b", { cpuPct: 50 }), svc("c", { cpuPct: null })], "cpu").map((x) => x.name)).toEqual(["b", "a", "c"]);
    expect(step(initialState, "quit", rows).state.quit).toBe(true);
    expect(step({ ...initialState, confirm: "zeta" }, "interrupt", rows).state.quit).toBe(true);
  });

  test("the lateness series is the newest samples, oldest first, also after the ring wrapped", () => {
    const ring = new Ring(4);
    for (const x of [1, 2, 3]) ring.push(x);
    expect(ring.recent(8)).toEqual([1, 2, 3]);
    for (const x of [4, 5, 6]) ring.push(x);
    expect(ring.recent(8)).toEqual([3, 4, 5, 6]);
    expect(ring.recent(2)).toEqual([5, 6]);
  });
});
