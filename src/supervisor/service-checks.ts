// A service's checks while it runs: readiness (a probe, or READY=1, within its timeout), health probes once ready, the sd_notify watchdog.
import type { ServiceConfig } from "../config/schema.ts";
import { describeProbe, fileStamp, probeOnce, type CommandRunner, type FileStamp, type ReadyFileRule } from "./probe.ts";

export type CheckEvent = { type: "ready" } | { type: "ready-timeout"; afterMs: number } | { type: "health"; ok: boolean; probe: string } | { type: "watchdog-missed" };

type Timer = ReturnType<typeof setTimeout>;

/** The checks of one run of a service; `live` false once cleared (late probe results are dropped). */
interface Run {
  live: boolean;
  timers: Set<Timer>;
  watchdog: Timer | null;
  /** While it waits for readiness: when it times out (performance.now()), and that timer. */
  readyBy: number | null;
  readyTimer: Timer | null;
  /** The run's spawn (performance.now()): its readiness timeout line says how long it waited since. */
  startedAt: number;
}

/** A ready file's ctime may be this much before the spawn as recorded (the kernel's coarse file clock; the spawn is recorded once it returned). */
export const READY_FILE_SLACK_MS = 100;

/**
 * The wall-clock time (ms) from which a ready file counts, for a run spawned at `startedAt`
 * (performance.now()): a file the previous run left made a restarted service ready at once, and its
 * dependents started against a service that was not up. The spawn on the wall clock as it was then
 * or as it is now, whichever is earlier: a clock stepped either way since (NTP at boot) never makes
 * the service's own file too old.
 */
function madeSince(startedAt: number): () => number {
  const wallAt = (): number => Date.now() - (performance.now() - startedAt);
  const then = wallAt();
  return () => Math.min(then, wallAt()) - READY_FILE_SLACK_MS;
}

export class ServiceChecks {
  private readonly runs = new Map<string, Run>();
  /** Each service's `file` readiness probe's file just before its run's spawn (taken by beforeSpawn, used once by awaitReady). */
  private readonly fileBefore = new Map<string, FileStamp>();

  constructor(
    private readonly emit: (name: string, ev: CheckEvent) => void,
    private readonly commandRunner: (name: string) => CommandRunner,
  ) {}

  private run(name: string): Run {
    let r = this.runs.get(name);
    if (!r) this.runs.set(name, (r = { live: true, timers: new Set(), watchdog: null, readyBy: null, readyTimer: null, startedAt: 0 }));
    return r;
  }

  private later(r: Run, ms: number, f: () => void): Timer {
    const t = setTimeout(() => {
      r.timers.delete(t);
      if (r.live) f();
    }, ms);
    r.timers.add(t);
    return t;
  }

  /** The readiness timeout of `r`, due at `by` (performance.now()); replaces the one set before. */
  private readyTimeout(name: string, r: Run, by: number): void {
    if (r.readyTimer) {
      clearTimeout(r.readyTimer);
      r.timers.delete(r.readyTimer);
    }
    r.readyBy = by;
    r.readyTimer = this.later(r, Math.max(0, by - performance.now()), () => this.emit(name, { type: "ready-timeout", afterMs: Math.round(by - r.startedAt) }));
  }

  /**
   * Waits for readiness: READY=1 arrives through `ready()`; a probe is tried every interval_ms. It
   * times out timeout_ms after the spawn at `startedAt` (performance.now(); a ready file must have
   * been made since), or after a live re-exec (`againMs`: what was left of the previous image's wait,
   * which EXTEND_TIMEOUT_USEC may have made longer) its whole timeout_ms again, or that when longer.
   */
  awaitReady(c: ServiceConfig, startedAt: number, againMs: number | null = null): void {
    this.clear(c.name);
    const ready = c.ready;
    if (!ready) return;
    const r = this.run(c.name);
    r.startedAt = startedAt;
    this.readyTimeout(c.name, r, againMs === null ? startedAt + ready.timeout_ms : performance.now() + Math.max(ready.timeout_ms, againMs));
    if ("notify" in ready) return;
    // A fresh run: a file other than the one there just before its spawn (comparing ctime with the
    // spawn's wall time counted a file made a moment before the spawn, and misread a file server's
    // clock). After a re-exec, where that is not known: one changed since the spawn on the wall clock.
    const stamp = this.fileBefore.get(c.name);
    this.fileBefore.delete(c.name);
    const made = madeSince(startedAt);
    const rule = (): ReadyFileRule => (againMs === null && stamp !== undefined ? { unlike: stamp } : { notBeforeMs: made() });
    const attempt = async () => {
      const left = Math.max(1, r.readyBy! - performance.now());
      const ok = await probeOnce(ready, Math.min(left, Math.max(ready.interval_ms, 1000)), this.commandRunner(c.name), rule());
      if (!r.live) return;
      if (ok) this.emit(c.name, { type: "ready" });
      else this.later(r, ready.interval_ms, () => void attempt());
    };
    void attempt();
  }

  /** Just before a run's spawn: its `file` readiness probe's file as it is now (absent, or its inode and change time). */
  beforeSpawn(c: ServiceConfig): void {
    if (c.ready && "file" in c.ready) this.fileBefore.set(c.name, fileStamp(c.ready.file));
  }

  /** Once ready: the readiness timer ends, health probes and the watchdog start. */
  becameReady(c: ServiceConfig): void {
    this.clear(c.name);
    const r = this.run(c.name);
    if (c.watchdog_ms !== undefined) this.ping(c);
    const h = c.health;
    if (!h) return;
    const probe = describeProbe(h.probe);
    const check = async () => {
      const ok = await probeOnce(h.probe, h.timeout_ms, this.commandRunner(c.name));
      if (!r.live) return;
      this.emit(c.name, { type: "health", ok, probe });
      this.later(r, h.interval_ms, () => void check());
    };
    this.later(r, h.interval_ms, () => void check());
  }

  /**
   * EXTEND_TIMEOUT_USEC= while it waits for readiness: it times out no sooner than `ms` from now (an
   * extension never shortens the wait, as systemd's). Whether there was a readiness wait to extend.
   */
  extendReady(c: ServiceConfig, ms: number): boolean {
    const r = this.runs.get(c.name);
    if (!r || !r.live || r.readyBy === null) return false;
    const by = performance.now() + ms;
    if (by > r.readyBy) this.readyTimeout(c.name, r, by);
    return true;
  }

  /** What is left (ms) of the readiness wait of `name` at `now` (performance.now()), or null when it waits for none. */
  readyLeft(name: string, now: number): number | null {
    const r = this.runs.get(name);
    return r && r.live && r.readyBy !== null ? Math.max(0, r.readyBy - now) : null;
  }

  /** WATCHDOG=1: the service is alive; the next ping is due within watchdog_ms. */
  ping(c: ServiceConfig): void {
    const r = this.runs.get(c.name);
    if (!r || !r.live || c.watchdog_ms === undefined) return;
    if (r.watchdog) {
      clearTimeout(r.watchdog);
      r.timers.delete(r.watchdog);
    }
    const t = setTimeout(() => {
      r.timers.delete(t);
      r.watchdog = null;
      if (r.live) this.emit(c.name, { type: "watchdog-missed" });
    }, c.watchdog_ms);
    r.timers.add(t);
    r.watchdog = t;
  }

  /** Ends every check of the service (it exited, or is stopping). */
  clear(name: string): void {
    const r = this.runs.get(name);
    if (!r) return;
    r.live = false;
    for (const t of r.timers) clearTimeout(t);
    this.runs.delete(name);
  }

  clearAll(): void {
    for (const n of [...this.runs.keys()]) this.clear(n);
  }
}
