// Control tests: a stub target that records what it was asked, a server in a temp dir, a raw line client.
import net from "node:net";
import { join, resolve } from "node:path";
import { tempDir as artifactTempDir } from "../harness/artifact.ts";
import { ControlServer, type ControlServerOptions } from "../../src/control/server.ts";
import type { ControlMutation, ControlTarget, ServiceStatus } from "../../src/control/target.ts";

export const root = resolve(import.meta.dir, "../..");
export const bun = process.execPath;

export const tempDir = (prefix = "vb-control-"): string => artifactTempDir(prefix);

/** A target with two services whose calls are recorded; no optional method unless `full`. */
export class StubTarget implements ControlTarget {
  readonly calls: string[] = [];
  /** Both services started 5 s before the stub was made (this process's clock, as the init's `startedAt`). */
  private readonly svc: ServiceStatus[] = [
    { name: "db", state: "running", pid: 4242, restarts: 0, lastStatus: null, startedAt: performance.now() - 5000 },
    { name: "api", state: "running", pid: 4343, restarts: 1, lastStatus: 1, startedAt: performance.now() - 5000 },
  ];
  stopDelayMs = 0;

  status(): Record<string, unknown> {
    this.calls.push("status");
    return { pid: process.pid, version: "test", uptimeMs: 1234, beat: { n: 17, periodMs: 100 }, journal: { nextSeq: 5, durableSeq: 4 } };
  }
  services() {
    return this.svc.map((s) => ({ ...s }));
  }
  startService(n: string) {
    this.calls.push(`start ${n}`);
    const s = this.svc.find((x) => x.name === n)!;
    s.state = "running";
    s.pid = 5000 + this.calls.length;
  }
  async stopService(n: string) {
    this.calls.push(`stop ${n}`);
    if (this.stopDelayMs > 0) await Bun.sleep(this.stopDelayMs);
    const s = this.svc.find((x) => x.name === n)!;
    s.state = "stopped";
    s.pid = null;
  }
  async restartService(n: string) {
    await this.stopService(n);
    this.startService(n);
    this.svc.find((x) => x.name === n)!.restarts++;
  }
  stats(): Record<string, unknown> {
    this.calls.push("stats");
    return { evolution: { accepted: 3 } };
  }
  shutdown(mode: "poweroff" | "reboot") {
    this.calls.push(`shutdown ${mode}`);
  }
}

/** Adds every optional method. */
export class FullTarget extends StubTarget {
  executePixels(px: Array<[number, number, number]>) {
    this.calls.push(`pixels ${px.length}`);
    return { result: px.map((p) => (p[0] + p[1] + p[2]) / 765) };
  }
  async submitMutation(m: ControlMutation) {
    this.calls.push(`mutate ${m.tensor}@${m.offset}x${m.values.length}`);
    if (m.confidence <= 0.8) return { accepted: false, reason: "LOW_CONFIDENCE" };
    return { accepted: true, seq: 7 };
  }
  async checkpoint() {
    this.calls.push("checkpoint");
    return { seq: 7, path: "/state/ckpt-7.gguf" };
  }
  async reexec(path?: string) {
    this.calls.push(`reexec ${path ?? "-"}`);
    return { generation: 2 };
  }
}

export function startServer(target: ControlTarget, opts: Partial<ControlServerOptions> = {}): { server: ControlServer; dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, "run", "control");
  const server = new ControlServer({ target, path, ...opts });
  return { server, dir, path };
}

/** A raw connection: write bytes, collect response lines, see when the server closes it. */
export class RawClient {
  readonly lines: unknown[] = [];
  closed = false;
  error: string | null = null;
  private waiters: Array<() => void> = [];
  private buf = "";

  private constructor(readonly sock: net.Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
        this.lines.push(JSON.parse(this.buf.slice(0, nl)));
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake();
    });
    sock.on("error", (e) => {
      this.error = (e as NodeJS.ErrnoException).code ?? e.message;
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((res, rej) => {
      const s = net.createConnection(path);
      s.once("connect", () => res(new RawClient(s)));
      s.once("error", rej);
    });
  }

  write(data: string | Uint8Array): void {
    this.sock.write(data);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds (checked on every event), failing after `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; lines=${JSON.stringify(this.lines)} closed=${this.closed} error=${this.error}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** Waits for `n` response lines in total. */
  async expectLines(n: number, timeoutMs = 5_000): Promise<unknown[]> {
    await this.until(() => this.lines.length >= n, timeoutMs, `${n} response lines`);
    return this.lines;
  }

  end(): void {
    this.sock.end();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** One request over a fresh raw connection. */
export async function roundTrip(path: string, req: object): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string }; id: unknown }> {
  const c = await RawClient.connect(path);
  c.write(`${JSON.stringify(req)}\n`);
  const [r] = await c.expectLines(1);
  c.destroy();
  return r as never;
}
