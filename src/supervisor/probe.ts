// One readiness or health check: a TCP connect, an HTTP status, a command's exit status, a file's existence (for readiness: made since the run's spawn); each bounded in time.
import { statSync } from "node:fs";
import type { Probe } from "../config/schema.ts";

/** Runs a command of the service; resolves to its exit status (null: could not start or timed out). */
export type CommandRunner = (argv: string[], timeoutMs: number) => Promise<number | null>;

/** node:net is loaded on the first TCP probe: at boot it costs 2-4 ms before the first beat. */
async function tcpConnects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const sock = net.createConnection({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

async function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await r.arrayBuffer().catch(() => undefined);
    return r.status >= 200 && r.status < 400;
  } catch {
    return false;
  }
}

/** A file as it was at a moment: its inode and change time (ns), or null when there was none. */
export type FileStamp = { ino: bigint; ctimeNs: bigint; mtimeNs: bigint; size: bigint } | null;

export function fileStamp(path: string): FileStamp {
  try {
    const st = statSync(path, { bigint: true });
    return { ino: st.ino, ctimeNs: st.ctimeNs, mtimeNs: st.mtimeNs, size: st.size };
  } catch {
    return null;
  }
}

/**
 * Which file counts for a readiness probe: any (null), one other than the file as it was just before
 * the spawn (`unlike`: made, replaced, renamed into place or touched since; no clock compared), or,
 * after a re-exec, one changed at or after `notBeforeMs` (wall clock).
 */
export type ReadyFileRule = null | { unlike: FileStamp } | { notBeforeMs: number };

function fileThere(path: string, rule: ReadyFileRule): boolean {
  try {
    const st = statSync(path, { bigint: true });
    if (rule === null) return true;
    // Size and mtime too: a file truncated and written again within one tick of the file clock (a
    // jiffy; a second on some file systems) keeps its ctime.
    if ("unlike" in rule) {
      const u = rule.unlike;
      return u === null || st.ino !== u.ino || st.ctimeNs !== u.ctimeNs || st.mtimeNs !== u.mtimeNs || st.size !== u.size;
    }
    return Number(st.ctimeNs / 1_000_000n) >= rule.notBeforeMs;
  } catch {
    return false;
  }
}

/**
 * One try of `p`, passed or not within `timeoutMs`. Never rejects. `notBeforeMs`: a file probe's file
 * counts only if made at or after that time (readiness: since the run's spawn), else if it exists.
 */
export async function probeOnce(p: Probe, timeoutMs: number, run: CommandRunner, fileRule: ReadyFileRule = null): Promise<boolean> {
  if ("tcp" in p) return tcpConnects(p.host, p.tcp, timeoutMs);
  if ("http" in p) return httpOk(p.http, timeoutMs);
  if ("exec" in p) return (await run(p.exec, timeoutMs)) === 0;
  return fileThere(p.file, fileRule);
}

/** Short description for log lines ("tcp 127.0.0.1:80", "http URL", "exec CMD", "file PATH"). */
export function describeProbe(p: Probe): string {
  if ("tcp" in p) return `tcp ${p.host}:${p.tcp}`;
  if ("http" in p) return `http ${p.http}`;
  if ("exec" in p) return `exec ${p.exec.join(" ")}`;
  return `file ${p.file}`;
}
