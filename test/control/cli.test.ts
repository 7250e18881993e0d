// The operator subcommands of the shipped executable (checkout hidden) against a real server in this process: human output, --json, exit codes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ControlServer } from "../../src/control/server.ts";
import { registry } from "../../src/cli/registry.ts";
import { PackageError } from "../../src/errors.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { FullTarget, startServer, StubTarget } from "./harness.ts";

let server: ControlServer;
let path: string;
let target: FullTarget;
let bare: ControlServer;
let barePath: string;

beforeAll(() => {
  target = new FullTarget();
  ({ server, path } = startServer(target));
  ({ server: bare, path: barePath } = startServer(new StubTarget()));
});
afterAll(() => {
  server.close();
  bare.close();
});

/**
 * Runs the shipped `vector-boot COMMAND ARGS` (async: the server lives in this process); the socket
 * is the server's through $VECTOR_BOOT_CONTROL unless ARGS give --socket.
 */
function cli(command: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return runShippedAsync([command, ...args], 15_000, { env: { VECTOR_BOOT_CONTROL: path } });
}

describe("operator CLI", () => {
  test("status prints pid, version and uptime, then the rest (socket from $VECTOR_BOOT_CONTROL)", async () => {
    const r = await cli("status");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`vector-boot: pid ${process.pid}, version test, up 1.2s`);
    expect(r.out).toContain("beat:\n  n: 17\n  period: 100 ms");
    expect(r.out).toContain("nextSeq: 5");
  });

  test("status --json prints the server's result unchanged", async () => {
    const r = await cli("status", "--json", "--socket", path);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(target.status());
  });

  test("services prints a table with a row per service", async () => {
    const r = await cli("services");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+PID\s+READY\s+RESTARTS\s+LAST\s+UP\s+MEM\s+CPU\s+PIDS\s+STATUS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([["db", "running", "4242"], ["api", "running", "4343"]]);
  });

  test("restart NAME, stop NAME and start NAME act on the service and say so", async () => {
    const before = target.calls.length;
    expect((await cli("stop", "db")).out).toBe("db: stopped (stopped)\n");
    expect((await cli("start", "db")).out).toMatch(/^db: started \(running, pid \d+\)\n$/);
    const r = await cli("restart", "api", "--json");
    expect(JSON.parse(r.out)).toMatchObject({ name: "api", state: "running" });
    // A start, stop or restart asks `status` first: its generation tells a live re-exec from a lost instance (service-ctl-reexec.ts).
    expect(target.calls.slice(before)).toEqual(["status", "stop db", "status", "start db", "status", "stop api", "start api"]);
  });

  test("start NAME on a service that runs already said 'started': it says 'already running', and --json carries already: true", async () => {
    expect((await cli("start", "db")).out).toMatch(/^db: already running \(running, pid \d+\)\n$/);
    expect(JSON.parse((await cli("start", "db", "--json")).out)).toMatchObject({ name: "db", state: "running", already: true });
    await cli("stop", "db");
    expect((await cli("start", "db")).out).toMatch(/^db: started \(running, pid \d+\)\n$/);
  });

  test("an unknown service exits 64 naming it", async () => {
    const r = await cli("restart", "ghost");
    expect(r.code).toBe(64);
    expect(r.err).toContain('unknown_service: no service named "ghost"');
  });

  test("a service name so long that the request line passes the server's 64 KiB limit exited 70 (an internal error): the operator's own argument is a usage error (64)", async () => {
    const r = await cli("restart", "x".repeat(70_000));
    expect(r.err).toContain("line_too_long");
    expect(r.code).toBe(64);
  });

  test("a missing NAME or an unknown option is a usage error (64) and nothing is sent", async () => {
    const before = target.calls.length;
    expect((await cli("stop")).code).toBe(64);
    const r = await cli("status", "--bogus");
    expect(r.code).toBe(64);
    expect(r.err).toContain("--bogus");
    expect((await cli("reexec", "relative/path")).code).toBe(64);
    expect(target.calls.length).toBe(before);
  });

  test("mutate took --values=1,,2 as 1,0,2 (Number(\"\") is 0), an empty list as [0] and hex as numbers, fleet mutate likewise; now a usage error (64) and nothing is sent", async () => {
    const before = target.calls.length;
    const bad: string[][] = [
      ["--values=1,,2", "--confidence", "0.9"],
      ["--values=", "--confidence", "0.9"],
      ["--values=0x10", "--confidence", "0.9"],
      ["--values=1", "--confidence", "0x1"],
      ["--values=1", "--confidence", ""],
    ];
    for (const args of bad) {
      const r = await cli("mutate", "cortex.0.weight", "0", ...args);
      expect(r.code).toBe(64);
      expect(r.err).toContain("decimal number");
    }
    for (const offset of ["", "0x10", "1.5"]) expect((await cli("mutate", "cortex.0.weight", offset, "--values=1", "--confidence", "0.9")).code).toBe(64);
    // Its --timeout and --socket are checked as every control command's (a bad timeout was NaN: 1 ms).
    expect((await cli("mutate", "cortex.0.weight", "0", "--values=1", "--confidence", "0.9", "--timeout", "abc")).err).toContain("--timeout: must be a whole number of milliseconds");
    expect((await cli("mutate", "cortex.0.weight", "0", "--values=1", "--confidence", "0.9", "--socket=")).code).toBe(64);
    expect(target.calls.length).toBe(before);
    // `fleet mutate` read the same arguments by hand: "" as offset 0, and "1,,2" as 1,2 (each value
    // after the gap one element early). Refused before any etcd call (the endpoint does not exist).
    for (const [offset, values] of [["", "1"], ["0", "1,,2"], ["0x10", "1"], ["0", "0x10"]]) {
      const r = await cli("fleet", "mutate", "cortex.0.weight", offset!, `--values=${values}`, "--confidence", "0.9", "--endpoints", "http://127.0.0.1:9", "--timeout", "500");
      expect(r.code).toBe(64);
      expect(r.err).toMatch(/offset: must be a non-negative integer|decimal numbers/);
    }
    // Its numeric options too (Number("abc") is NaN: --wait abc did not wait, --timeout-s abc never timed out).
    const fleetArgs = ["--endpoints", "http://127.0.0.1:9", "--timeout", "500"];
    for (const [args, option] of [
      [["mutate", "t", "0", "--values=1", "--confidence", "0.9", "--wait", "abc"], "--wait"],
      [["mutate", "t", "0", "--values=1", "--confidence", "0.9", "--publish-s", "0"], "--publish-s"],
      [["rollout", "reexec", "--timeout-s", "abc"], "--timeout-s"],
      [["rollout", "reexec", "--max-unavailable", "1.5"], "--max-unavailable"],
      [["gc", "--timeout", "0x10"], "--timeout"],
    ] as const) {
      const r = await cli("fleet", ...args, ...(args[0] === "gc" ? ["--endpoints", "http://127.0.0.1:9"] : fleetArgs));
      expect(r.code).toBe(64);
      expect(r.err).toContain(`${option} must be a positive`);
    }
    const ok = await cli("mutate", "cortex.0.weight", "3", "--values= 1, 2.5,-3e-2", "--confidence", ".95");
    expect(ok.code).not.toBe(64); // sent (this test target's verdict shape is not the init's)
    expect(target.calls.at(-1)).toBe("mutate cortex.0.weight@3x3");
  });

  test("poweroff and reboot request the shutdown mode", async () => {
    expect((await cli("poweroff")).out).toBe("poweroff requested\n");
    expect(JSON.parse((await cli("reboot", "--json")).out)).toEqual({ mode: "reboot" });
    expect(target.calls.filter((c) => c.startsWith("shutdown"))).toEqual(["shutdown poweroff", "shutdown reboot"]);
  });

  test("reexec passes the path; an instance without re-exec answers not supported (exit 64)", async () => {
    const r = await cli("reexec", "/opt/new/vector-boot");
    expect(r.code).toBe(0);
    expect(r.out).toContain("generation: 2");
    expect(target.calls).toContain("reexec /opt/new/vector-boot");
    const n = await cli("reexec", "--socket", barePath);
    expect(n.code).toBe(64);
    expect(n.err).toContain("not_supported");
  });

  test("reexec whose exec drops the connection reconnects to the new image and reports the generation change", async () => {
    const gen = (n: number) => {
      const t = new StubTarget();
      const base = t.status.bind(t);
      t.status = () => ({ ...base(), generation: n });
      return t;
    };
    const old = gen(4) as StubTarget & { reexec?: (p?: string) => Promise<unknown> };
    const first = startServer(old);
    let next: ControlServer | null = null;
    old.reexec = () => {
      // What an exec looks like from outside: every fd closes (unannounced: close() would tell each
      // connection the instance is shutting down), the socket is gone, a new image listens later.
      (first.server as unknown as { peers: { dropAll(why: string): void } }).peers.dropAll("exec");
      first.server.close();
      setTimeout(() => (next = new ControlServer({ target: gen(5), path: first.path })), 300);
      return new Promise(() => {});
    };
    try {
      const r = await cli("reexec", "--socket", first.path, "--json");
      expect(r.err).toBe("");
      expect(JSON.parse(r.out)).toEqual({ generation: 5, previousGeneration: 4, pid: process.pid });
      expect(r.code).toBe(0);
    } finally {
      first.server.close();
      (next as ControlServer | null)?.close();
    }
  });

  test("reexec refused by the instance (the new image does not start) exits 70 with the reason", async () => {
    const t = new StubTarget() as StubTarget & { reexec?: (p?: string) => Promise<unknown> };
    t.reexec = async (p) => {
      throw new Error(`${p}: --version exited with status 127`);
    };
    const s = startServer(t);
    try {
      const r = await cli("reexec", "/nonexistent/vector-boot", "--socket", s.path);
      expect(r.code).toBe(70);
      expect(r.err).toContain("failed: Error: /nonexistent/vector-boot: --version exited with status 127");
    } finally {
      s.server.close();
    }
  });

  test("reexec --help said a refused image exits 70; a preflight refusal (PackageError, code refused) exits 65, as the help now says", async () => {
    const t = new StubTarget() as StubTarget & { reexec?: (p?: string) => Promise<unknown> };
    t.reexec = async (p) => {
      throw new PackageError(p ?? "", `is not a vector-boot image: its --version said "true (GNU coreutils) 9.1"`);
    };
    const s = startServer(t);
    try {
      const r = await cli("reexec", "/usr/bin/true", "--socket", s.path);
      expect(r.code).toBe(65);
      expect(r.err).toContain("refused: /usr/bin/true: is not a vector-boot image");
      const help = (await cli("reexec", "--help")).out;
      expect(help).toContain("65 when the instance refused the new image");
      expect(help).not.toContain("70 when the instance refused");
    } finally {
      s.server.close();
    }
  });

  test("no server at the socket path exits 71 and says where it looked", async () => {
    const r = await cli("status", "--socket", `${path}.nothing-here`);
    expect(r.code).toBe(71);
    expect(r.err).toContain("ENOENT");
    expect(r.err).toContain(`${path}.nothing-here`);
  });

  test("top --once draws a frame from an instance that sends no heartbeat series; without a terminal, or with a bad --interval, top exits 64", async () => {
    const once = await cli("top", "--once", "--interval", "100");
    expect(once.err).toBe("");
    expect(once.code).toBe(0);
    expect(once.out).toContain(`vector-boot top  pid ${process.pid}  vtest`);
    expect(once.out).toContain("journal seq 4 (durable 4)  checkpoint none");
    expect(once.out).toMatch(/^> db +running /m);
    const live = await cli("top");
    expect(live.code).toBe(64);
    expect(live.err).toContain("must be a terminal (use --once");
    const bad = await cli("top", "--interval", "50");
    expect(bad.code).toBe(64);
    expect(bad.err).toContain("--interval: must be 100 to 60000");
  });

  test("every command has --help", async () => {
    const names = Object.keys(registry);
    expect(names).toContain("status");
    for (const name of names) {
      const r = await cli(name, "--help");
      expect([name, r.code]).toEqual([name, 0]);
      expect(r.out).toStartWith(`Usage: vector-boot ${name} `);
    }
  });
});

test("status text printed lateness as 0.12926100000004226 and all 64 recent values on one line; numbers are cut to four significant digits and long lists to eight items", async () => {
  const { describeObject } = await import("../../src/control/cli-support.ts");
  const text = describeObject({ heartbeat: { jitterMs: { p50: 0.12926100000004226 }, latenessRecentMs: Array.from({ length: 64 }, (_, i) => i + 0.123456789), beats: 42 } });
  expect(text).toContain("p50: 0.1293");
  expect(text).toContain("latenessRecentMs: 0.1235, 1.123, 2.123, 3.123, 4.123, 5.123, 6.123, 7.123, ... 56 more");
  expect(text).toContain("beats: 42");
});
