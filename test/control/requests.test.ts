// Every control request against a stub target through a real socket: results, errors, order, shutdown after reply.
import { afterEach, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { ControlClient, ControlRequestError } from "../../src/control/client.ts";
import type { ControlServer } from "../../src/control/server.ts";
import { FullTarget, RawClient, roundTrip, startServer, StubTarget, tempDir } from "./harness.ts";

let server: ControlServer | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

describe("control requests", () => {
  test("status round trip returns the target's status with the request id", async () => {
    const t = new StubTarget();
    const s = startServer(t);
    server = s.server;
    const r = await roundTrip(s.path, { id: "abc", op: "status" });
    expect(r).toEqual({ id: "abc", ok: true, result: t.status() });
    expect(t.calls).toEqual(["status", "status"]);
  });

  test("socket is created 0600 in a 0700 directory by default", () => {
    const s = startServer(new StubTarget());
    server = s.server;
    expect(statSync(s.path).mode & 0o777).toBe(0o600);
    expect(statSync(s.path).isSocket()).toBe(true);
    expect(statSync(dirname(s.path)).mode & 0o777).toBe(0o700);
  });

  test("checking a service name read every service's cgroup usage (logs -f asks every 200 ms: 1,800 file reads a time with 600 services); only `services` asks for the usage", async () => {
    const asked: Array<boolean | undefined> = [];
    const t = new (class extends StubTarget {
      override services(withUsage?: boolean) {
        asked.push(withUsage);
        return super.services();
      }
      serviceLogs() {
        return { lines: [], next: 0 };
      }
    })();
    const s = startServer(t);
    server = s.server;
    await roundTrip(s.path, { op: "logs", name: "db" });
    await roundTrip(s.path, { op: "logs", name: "nope" });
    expect(asked).toEqual([false, false]);
    asked.length = 0;
    await roundTrip(s.path, { op: "services" });
    expect(asked.every((u) => u !== false)).toBe(true);
  });

  test("services adds how long each running service has run, and null for a stopped one", async () => {
    const made = performance.now();
    const t = new StubTarget(); // its services started 5 s before it was made
    const s = startServer(t);
    server = s.server;
    type Row = { name: string; runningMs: number | null; pid: number | null };
    const r = await roundTrip(s.path, { op: "services" });
    // Each service's startedAt lies in [made - 5000, now - 5000]: its run time in [5000, 5000 + elapsed].
    const inRange = (ms: number | null) => {
      expect(ms).toBeGreaterThanOrEqual(5000);
      expect(ms).toBeLessThanOrEqual(5000 + Math.ceil(performance.now() - made));
    };
    const list = r.result as Row[];
    expect(list.map((x) => [x.name, x.pid])).toEqual([["db", 4242], ["api", 4343]]);
    for (const x of list) inRange(x.runningMs);
    await roundTrip(s.path, { op: "stop", name: "db" });
    const after = (await roundTrip(s.path, { op: "services" })).result as Row[];
    expect(after.map((x) => [x.name, x.pid, x.runningMs === null])).toEqual([["db", null, true], ["api", 4343, false]]);
    inRange(after[1]!.runningMs);
  });

  test("stop, start and restart reach the target and answer the service's new state", async () => {
    const t = new StubTarget();
    const s = startServer(t);
    server = s.server;
    const c = await ControlClient.connect(s.path);
    expect(await c.request({ op: "stop", name: "db" })).toMatchObject({ name: "db", state: "stopped", pid: null, runningMs: null });
    expect(await c.request({ op: "start", name: "db" })).toMatchObject({ name: "db", state: "running" });
    expect(await c.request({ op: "restart", name: "api" })).toMatchObject({ name: "api", state: "running", restarts: 2 });
    c.close();
    expect(t.calls).toEqual(["stop db", "start db", "stop api", "start api"]);
  });

  test("an unknown service name is refused with unknown_service and the target is not called", async () => {
    const t = new StubTarget();
    const s = startServer(t);
    server = s.server;
    const r = await roundTrip(s.path, { id: 3, op: "restart", name: "nosuch" });
    expect(r).toMatchObject({ id: 3, ok: false, error: { code: "unknown_service" } });
    expect(t.calls).toEqual([]);
  });

  test("optional operations the target lacks answer not_supported", async () => {
    const s = startServer(new StubTarget());
    server = s.server;
    for (const req of [{ op: "reexec" }, { op: "checkpoint" }, { op: "pixels", pixels: [[1, 2, 3]] }, { op: "mutate", tensor: "pixel.w", offset: 0, values: [1], confidence: 0.9 }]) {
      const r = await roundTrip(s.path, req);
      expect(r).toMatchObject({ ok: false, error: { code: "not_supported" } });
    }
  });

  test("pixels, mutate, checkpoint and reexec reach a target that has them", async () => {
    const t = new FullTarget();
    const s = startServer(t);
    server = s.server;
    const c = await ControlClient.connect(s.path);
    expect(await c.request({ op: "pixels", pixels: [[255, 255, 255], [0, 0, 0]] })).toEqual({ result: [1, 0] });
    expect(await c.request({ op: "mutate", tensor: "pixel.w", offset: 3, values: [0.5, 0.25], confidence: 0.9 })).toEqual({ accepted: true, seq: 7 });
    expect(await c.request({ op: "checkpoint" })).toEqual({ seq: 7, path: "/state/ckpt-7.gguf" });
    expect(await c.request({ op: "reexec", path: "/sbin/vector-boot" })).toEqual({ generation: 2 });
    c.close();
    expect(t.calls).toEqual(["pixels 2", "mutate pixel.w@3x2", "checkpoint", "reexec /sbin/vector-boot"]);
  });

  test("invalid fields are refused by the schema naming the field (pixel out of range, relative reexec path)", async () => {
    const t = new FullTarget();
    const s = startServer(t);
    server = s.server;
    const a = await roundTrip(s.path, { id: 1, op: "pixels", pixels: [[1, 2, 300]] });
    expect(a).toMatchObject({ id: 1, ok: false, error: { code: "invalid_request" } });
    expect(a.error!.message).toContain("pixels.0.2");
    const b = await roundTrip(s.path, { id: 2, op: "reexec", path: "vector-boot" });
    expect(b).toMatchObject({ id: 2, ok: false, error: { code: "invalid_request" } });
    expect(b.error!.message).toContain("absolute");
    const c = await roundTrip(s.path, { id: 3, op: "status", extra: true });
    expect(c).toMatchObject({ id: 3, ok: false, error: { code: "invalid_request" } });
    expect(t.calls).toEqual([]);
  });

  test("a target that throws gives a failed response and the server keeps serving", async () => {
    const t = new StubTarget();
    t.stats = () => {
      throw new Error("stats exploded");
    };
    const s = startServer(t);
    server = s.server;
    const r = await roundTrip(s.path, { op: "stats" });
    expect(r).toMatchObject({ ok: false, error: { code: "failed" } });
    expect(r.error!.message).toContain("stats exploded");
    expect((await roundTrip(s.path, { op: "ping" })).ok).toBe(true);
  });

  test("typed arrays and bigints in a result are sent as JSON numbers; a cyclic result is a failed response", async () => {
    const t = new StubTarget();
    const s = startServer(t);
    server = s.server;
    t.stats = () => ({ output: new Float32Array([0.5, 1.5]), seq: 42n, huge: 2n ** 60n });
    expect((await roundTrip(s.path, { op: "stats" })).result).toEqual({ output: [0.5, 1.5], seq: 42, huge: "1152921504606846976" });
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    t.stats = () => cyc;
    expect(await roundTrip(s.path, { id: 5, op: "stats" })).toMatchObject({ id: 5, ok: false, error: { code: "failed" } });
    expect((await roundTrip(s.path, { op: "ping" })).ok).toBe(true);
  });

  test("pipelined requests on one connection are answered in order while a slow stop is in progress", async () => {
    const t = new StubTarget();
    t.stopDelayMs = 200;
    const s = startServer(t);
    server = s.server;
    const c = await RawClient.connect(s.path);
    c.write(`${[{ id: 1, op: "stop", name: "db" }, { id: 2, op: "status" }, { id: 3, op: "services" }].map((r) => JSON.stringify(r)).join("\n")}\n`);
    const lines = (await c.expectLines(3)) as Array<{ id: number; ok: boolean }>;
    expect(lines.map((l) => [l.id, l.ok])).toEqual([[1, true], [2, true], [3, true]]);
    c.destroy();
  });

  test("poweroff is answered before the target's shutdown runs, even if the shutdown closes the socket at once", async () => {
    const t = new StubTarget();
    const s = startServer(t);
    server = s.server;
    t.shutdown = (mode) => {
      t.calls.push(`shutdown ${mode}`);
      s.server.close();
    };
    const c = await ControlClient.connect(s.path);
    expect(await c.request({ op: "poweroff" })).toEqual({ mode: "poweroff" });
    c.close();
    expect(t.calls).toEqual(["shutdown poweroff"]);
  });

  test("reboot asks the target for mode reboot", async () => {
    const t = new StubTarget();
    const s = startServer(t);
    server = s.server;
    expect(await roundTrip(s.path, { op: "reboot" })).toEqual({ id: null, ok: true, result: { mode: "reboot" } });
    expect(t.calls).toEqual(["shutdown reboot"]);
  });

  test("the client turns an error response into ControlRequestError with its code and exit code", async () => {
    const s = startServer(new StubTarget());
    server = s.server;
    const c = await ControlClient.connect(s.path);
    const e = (await c.request({ op: "stop", name: "ghost" }).catch((x: unknown) => x)) as ControlRequestError;
    c.close();
    expect(e).toBeInstanceOf(ControlRequestError);
    expect(e.code).toBe("unknown_service");
    expect(e.exitCode).toBe(64);
  });

  test("requests are answered through the SIGURG wake alone (safety poll set to 60 s) and through the poll alone (no signal)", async () => {
    const a = startServer(new StubTarget(), { housekeepingMs: 60_000 });
    server = a.server;
    const c = await ControlClient.connect(a.path);
    for (let i = 0; i < 20; i++) expect(await c.request({ op: "ping" }, 10_000)).toMatchObject({ pong: true });
    c.close();
    expect(a.server.stats().wakeups).toBeGreaterThanOrEqual(20);
    a.server.close();
    const b = startServer(new StubTarget(), { wakeSignal: null, housekeepingMs: 20 });
    server = b.server;
    const d = await ControlClient.connect(b.path);
    for (let i = 0; i < 5; i++) expect(await d.request({ op: "ping" }, 10_000)).toMatchObject({ pong: true });
    d.close();
    expect(b.server.stats().wakeups).toBe(0);
  });

  test("a socket directory owned by another uid, or a symlink, is refused and its mode left alone", async () => {
    const { ControlServer } = await import("../../src/control/server.ts");
    const base = tempDir();
    const foreign = join(base, "foreign");
    mkdirSync(foreign, { mode: 0o755 });
    chownSync(foreign, 65534, 65534);
    expect(() => new ControlServer({ target: new StubTarget(), path: join(foreign, "control") })).toThrow("belongs to uid 65534");
    expect(statSync(foreign).mode & 0o777).toBe(0o755);
    symlinkSync(foreign, join(base, "link"));
    expect(() => new ControlServer({ target: new StubTarget(), path: join(base, "link", "control") })).toThrow("not a directory");
  });

  test("a stale socket file is replaced; a non-socket file at the path is refused", async () => {
    const a = startServer(new StubTarget());
    a.server.close();
    // A socket file nobody listens on any more (its process bound it and went away).
    const bind = Bun.spawnSync(["/usr/bin/python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", a.path]);
    expect(bind.exitCode).toBe(0);
    expect(statSync(a.path).isSocket()).toBe(true);
    const { ControlServer } = await import("../../src/control/server.ts");
    server = new ControlServer({ target: new StubTarget(), path: a.path });
    expect((await roundTrip(a.path, { op: "ping" })).ok).toBe(true);
    const f = `${a.dir}/run/plainfile`;
    await Bun.write(f, "x");
    // Refused before the socket is looked at: the directory holds a file vector-boot did not put there.
    expect(() => new ControlServer({ target: new StubTarget(), path: f })).toThrow("already holds plainfile, which vector-boot did not put there");
  });
});
