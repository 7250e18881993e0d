// Test harness: spawns the consumer process and the real Python client, with bounded waits everywhere.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import type { EvolutionStats } from "../../src/evolution/evolution.ts";
import { python } from "../harness/python.ts";

export const root = resolve(import.meta.dir, "../..");
export const pythonPath = join(root, "python");

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
export const removeDir = (d: string) => rmSync(d, { recursive: true, force: true });

/** A line reader over a process's stdout that can wait for the next line with a timeout. */
class Lines {
  private buf = "";
  private lines: string[] = [];
  private waiters: ((l: string | null) => void)[] = [];
  private ended = false;
  constructor(stream: ReadableStream<Uint8Array>) {
    void this.pump(stream);
  }
  private async pump(stream: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        w ? w(l) : this.lines.push(l);
      }
    }
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
  }
  all(): string[] {
    return this.lines.splice(0);
  }
  next(timeoutMs: number, what: string): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.reject(new Error(`process ended before ${what}`));
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.waiters.push((x) => (clearTimeout(t), x === null ? rej(new Error(`process ended before ${what}`)) : res(x)));
    });
  }
}

export interface Consumer {
  proc: Subprocess<"pipe", "pipe", "pipe">;
  socket: string;
  ready: { checksum: number; stats: EvolutionStats };
  ask(cmd: string, timeoutMs?: number): Promise<any>;
  quit(): Promise<any>;
  kill(): Promise<void>;
  stderr(): Promise<string>;
}

export async function startConsumer(stateDir: string, runDir: string, extra: string[] = []): Promise<Consumer> {
  const proc = Bun.spawn([process.execPath, join(root, "test/evolution/consumer.ts"), "--state", stateDir, "--run", runDir, ...extra], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines = new Lines(proc.stdout);
  let ready: any;
  try {
    ready = JSON.parse(await lines.next(15000, "consumer ready"));
  } catch (e) {
    proc.kill(9);
    throw new Error(`${(e as Error).message}: ${await new Response(proc.stderr).text()}`);
  }
  const ask = async (cmd: string, timeoutMs = 10000) => {
    proc.stdin.write(`${cmd}\n`);
    proc.stdin.flush();
    return JSON.parse(await lines.next(timeoutMs, cmd));
  };
  return {
    proc,
    socket: ready.socket,
    ready,
    ask,
    async quit() {
      const r = await ask("quit");
      await proc.exited;
      return r;
    },
    async kill() {
      proc.kill(9);
      await proc.exited;
    },
    stderr: () => new Response(proc.stderr).text(),
  };
}

/** Runs a Python script with the client (the checkout's, or `clientPath`) on PYTHONPATH; returns stdout lines (throws on failure or timeout). */
export async function runPython(script: string, args: string[] = [], timeoutMs = 60000, clientPath = pythonPath): Promise<string[]> {
  const p = Bun.spawn([python, "-c", script, ...args], {
    env: { ...process.env, PYTHONPATH: clientPath },
    stdout: "pipe",
    stderr: "pipe",
  });
  const t = setTimeout(() => p.kill(9), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(t);
  if (code !== 0) throw new Error(`python exited ${code}: ${err}\n${out}`);
  return out.split("\n").filter((l) => l.length > 0);
}

/** Spawns a Python script without waiting (torture storms). */
export function spawnPython(script: string, args: string[] = []) {
  return Bun.spawn([python, "-c", script, ...args], { env: { ...process.env, PYTHONPATH: pythonPath }, stdout: "pipe", stderr: "pipe" });
}
