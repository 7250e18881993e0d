// Control socket round trip (status), p50/p99: vector-boot's server vs Bun.listen running the same request handler.
// The servers run in a child process (as in PID 1); the client here. `--serve DIR` is the child's mode.
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile as pct } from "./stats.ts";

const status = () => ({ pid: process.pid, version: "bench", uptimeMs: Math.round(performance.now()), beat: { n: 1234, periodMs: 100, lateP99Ms: 0.2 }, journal: { nextSeq: 99, durableSeq: 98 }, services: { running: 3 } });

if (process.argv[2] === "--serve") {
  const dir = process.argv[3]!;
  const { ControlServer } = await import("../src/control/server.ts");
  const { bootTarget } = await import("../src/control/boot-target.ts");
  const target = bootTarget({ supervisor: () => null, requestShutdown: () => {}, status });
  new ControlServer({ target, path: join(dir, "signal", "control") });
  new ControlServer({ target, path: join(dir, "poll", "control"), wakeSignal: null, housekeepingMs: 10 });
  // Reference: Bun's own event-loop socket (which cannot read SO_PEERCRED) with the same request handler.
  const { handleLine } = await import("../src/control/handler.ts");
  Bun.listen<{ buf: string }>({
    unix: join(dir, "bun.sock"),
    socket: {
      open(s) {
        s.data = { buf: "" };
      },
      data(s, d) {
        s.data.buf += d.toString();
        for (let nl = s.data.buf.indexOf("\n"); nl >= 0; nl = s.data.buf.indexOf("\n")) {
          const line = s.data.buf.slice(0, nl);
          s.data.buf = s.data.buf.slice(nl + 1);
          void handleLine(line, target, { pid: 0, uid: 0, gid: 0, groups: [], role: "root" }).then((h) => s.write(`${JSON.stringify(h.response)}\n`));
        }
      },
    },
  });
  console.log("ready");
  await new Promise(() => {});
}

const dir = mkdtempSync(join(tmpdir(), "vb-control-bench-"));
const child = Bun.spawn([process.execPath, import.meta.path, "--serve", dir], { stdout: "pipe", stderr: "ignore" });
const reader = child.stdout.getReader();
await reader.read();

function connect(path: string): Promise<{ ask: () => Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    let buf = "";
    let waiting: (() => void) | null = null;
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!JSON.parse(line).ok) throw new Error(line);
        waiting?.();
      }
    });
    s.once("error", reject);
    s.once("connect", () =>
      resolve({
        ask: () =>
          new Promise<void>((r) => {
            waiting = r;
            s.write('{"id":1,"op":"status"}\n');
          }),
        close: () => s.destroy(),
      }),
    );
  });
}

async function measure(path: string, n: number, fresh: boolean): Promise<{ p50: number; p99: number }> {
  const xs: number[] = [];
  let c = fresh ? null : await connect(path);
  for (let i = 0; i < n + 50; i++) {
    const t0 = Bun.nanoseconds();
    if (fresh) c = await connect(path);
    await c!.ask();
    if (fresh) c!.close();
    if (i >= 50) xs.push((Bun.nanoseconds() - t0) / 1e6);
  }
  c?.close();
  return { p50: pct(xs, 50), p99: pct(xs, 99) };
}

const fmt = (r: { p50: number; p99: number }) => `p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms`;
console.log("## control request round trip: status, one client, server in another process");
for (const fresh of [false, true]) {
  const n = fresh ? 1000 : 5000;
  console.log(`-- ${fresh ? "new connection per request (the CLI's pattern)" : "one connection, requests back to back"}, ${n} requests`);
  const ours = await measure(join(dir, "signal", "control"), n, fresh);
  const ref = await measure(join(dir, "bun.sock"), n, fresh);
  console.log(`vector-boot (C socket, SIGURG wake)  ${fmt(ours)}`);
  console.log(`Bun.listen + same handler (reference) ${fmt(ref)}`);
  console.log(`ratio vector-boot / Bun.listen: p50 ${(ours.p50 / ref.p50).toFixed(2)}x  p99 ${(ours.p99 / ref.p99).toFixed(2)}x`);
}
const poll = await measure(join(dir, "poll", "control"), 300, false);
console.log(`-- without the wake signal (10 ms poll), 300 requests: ${fmt(poll)}`);
child.kill(9);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
