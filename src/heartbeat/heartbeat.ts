// The heartbeat: fixed-period beats on an absolute clock; each reads hw.mmio, runs the cortex, dispatches interrupts.
import { ConfigError, describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { BeatClock } from "./beat-clock.ts";
import { BeatPriority } from "./beat-priority.ts";
import { BeatSleeper } from "./beat-sleeper.ts";
import { BeatTally } from "./beat-tally.ts";
import { CortexBinding } from "./cortex-adapter.ts";
import { type HeartbeatConfig, heartbeatConfigSchema } from "../config/heartbeat-schema.ts";
import { type HeartbeatEffect, type HeartbeatEvent, type HeartbeatState, heartbeatStep } from "./heartbeat-machine.ts";
import { monoMs } from "./hw-mmio-buffer.ts";
import { InterruptBank } from "./interrupts.ts";
import { carryInterrupts, type InterruptCarry, restoreInterrupts } from "./interrupt-carry.ts";
import { type HeartbeatRecord, InterruptDispatcher } from "./interrupt-dispatch.ts";
import { MetabolicDaemon } from "./metabolic-daemon.ts";
import type { FromWorker } from "./metabolic-protocol.ts";
import { ServiceSync } from "./service-sync.ts";
import type { BeatInfo, HeartbeatOptions, HeartbeatStats } from "./heartbeat-types.ts";
import { Watchdog } from "./watchdog.ts";

const log = logger("heartbeat");

/** How many of the newest interrupt records stats() carries (a `top` panel). */
const RECENT_RECORDS = 8;
/** A worker that has not said ready yet is judged stalled only after this long (Worker start-up under emulation takes seconds). */
const STARTUP_GRACE_MS = 15_000;

export class Heartbeat {
  private state: HeartbeatState = "idle";
  private readonly cfg: HeartbeatConfig;
  private readonly clock: BeatClock;
  readonly metabolic: MetabolicDaemon;
  private readonly watchdog: Watchdog | null;
  private readonly ownsWatchdog: boolean;
  private readonly binding: CortexBinding | null;
  private readonly bank: InterruptBank | null;
  private readonly dispatch: InterruptDispatcher | null;
  private origin = 0;
  private slot = 0;
  /** Slot of the last beat run (0: none yet). */
  private lastRun = 0;
  private readonly tally = new BeatTally();
  private readonly serviceSync: ServiceSync;
  private staleCheckFrom = 0;
  /** The metabolic worker's sampling period (ms). */
  private sampleMs = 0;
  private settle: (() => void) | null = null;
  private settled: Promise<void> | null = null;
  /** The metabolic worker is started after beat 1 (see "start-worker"). */
  private workerDue = false;

  constructor(private readonly opts: HeartbeatOptions) {
    if (!(opts.periodMs >= 1)) throw new ConfigError("heartbeat_ms", `must be >= 1, got ${opts.periodMs}`);
    this.cfg = opts.parsedConfig ?? parseSection(opts.config);
    this.clock = new BeatClock(this.cfg.guard_ms, null, new BeatPriority(this.cfg.beat_fifo_priority));
    const sampleMs = (this.sampleMs = this.cfg.sample_ms > 0 ? this.cfg.sample_ms : Math.max(50, opts.periodMs));
    this.metabolic = new MetabolicDaemon({
      procRoot: this.cfg.proc_root,
      sysRoot: this.cfg.sys_root,
      sampleMs,
      smoothingMs: this.cfg.smoothing_ms,
      procsMs: this.cfg.procs_ms,
      workerUrl: opts.workerUrl,
      onMessage: (m) => this.onWorkerMessage(m),
      onCrash: () => this.fire("worker-crash"),
    });
    this.ownsWatchdog = opts.watchdog === undefined;
    this.watchdog = opts.watchdog ?? (this.cfg.watchdog === false ? null : new Watchdog(this.cfg.watchdog));
    // A model whose layout disagrees with hw.mmio is refused here (ModelError), before anything runs.
    this.binding = opts.model ? new CortexBinding(opts.model) : null;
    this.bank = this.binding ? new InterruptBank(this.binding.outputNames, this.binding.thresholds, this.binding.hysteresis) : null;
    this.dispatch = this.binding ? new InterruptDispatcher(this.binding, this.cfg, this.metabolic, opts.services ?? null, opts.onShutdown ?? null) : null;
    this.serviceSync = new ServiceSync(this.metabolic, (name) => this.dispatch?.forget(name));
    if (opts.interrupts && this.bank && this.dispatch) restoreInterrupts(this.bank, this.dispatch, opts.interrupts, performance.now());
  }

  /** The interrupts' state for the next image of a live re-exec (after stop()). */
  carryInterrupts(): InterruptCarry[] {
    return this.bank && this.dispatch ? carryInterrupts(this.bank, this.dispatch, performance.now()) : [];
  }

  get currentState(): HeartbeatState {
    return this.state;
  }

  start(): void {
    this.fire("start");
  }

  /**
   * Stops beating, stops the worker (throttled services resumed), disarms the watchdog. Resolves to
   * the number of the last beat (for a live re-exec: the next heartbeat's `firstBeat`).
   */
  async stop(): Promise<number> {
    this.fire("stop");
    await this.settled;
    return this.lastBeat;
  }

  private get lastBeat(): number {
    return (this.opts.firstBeat ?? 0) + this.lastRun;
  }

  /** Interrupt and action records (the last 256). */
  records(): readonly HeartbeatRecord[] {
    return this.dispatch?.records ?? [];
  }

  private fire(event: HeartbeatEvent, at = 0): void {
    const r = heartbeatStep(this.state, event);
    if (r.ignored) log.debug("event ignored", { state: this.state, event });
    this.state = r.state;
    for (const e of r.effects) this.perform(e, at);
  }

  private perform(e: HeartbeatEffect, at: number): void {
    switch (e) {
      case "arm-watchdog":
        if (this.ownsWatchdog) this.watchdog?.open();
        break;
      case "start-worker":
        this.settled = new Promise((resolve) => (this.settle = resolve));
        if (this.cfg.wake === "sleeper") this.clock.sleeper = new BeatSleeper(this.cfg.sleeper_fifo_priority);
        // Started right after beat 1, not before it: beat 1 can never use its sample (rates need two
        // samples a sample_ms apart), and creating the Worker cost the path to beat 1 0.5-0.7 ms.
        this.workerDue = true;
        break;
      case "schedule-first":
        log.info("heartbeat started", { period_ms: this.opts.periodMs, model: this.binding ? `${this.binding.inputNames.length} inputs, ${this.binding.outputNames.length} interrupts` : "none", watchdog: this.watchdog?.armed ?? false });
        // Beat 1 is due now (the heartbeat is ready); beat n at that time + (n - 1) periods.
        this.origin = performance.now() - this.opts.periodMs;
        this.slot = 1;
        this.staleCheckFrom = monoMs() + 2000;
        this.clock.at(this.origin + this.opts.periodMs, (t) => this.fire("tick", t));
        break;
      case "beat":
        this.beat(at);
        break;
      case "schedule-next":
        this.scheduleNext();
        break;
      case "log-worker-crash":
        log.warn("metabolic worker crashed; beats continue on the last sample until it is back", { beats: this.tally.beats, crashes: this.metabolic.stats().workerCrashes });
        break;
      case "cancel-timer":
        this.clock.cancel();
        this.clock.sleeper?.stop(); // kept for stats(); a new start() makes a new one
        break;
      case "stop-worker":
        this.metabolic.stop().then(
          () => this.fire("stopped"),
          (err) => {
            log.error("stopping the metabolic worker failed", { error: describeError(err) });
            this.fire("stopped");
          },
        );
        break;
      case "disarm-watchdog":
        if (this.ownsWatchdog) this.watchdog?.disarm();
        break;
      case "settle":
        log.info("heartbeat stopped", { beats: this.tally.beats, missed: this.tally.missed });
        this.settle?.();
        this.settle = null;
        if (!this.settled) this.settled = Promise.resolve();
        break;
    }
  }

  private onWorkerMessage(m: FromWorker): void {
    if (m.type === "action") this.dispatch?.logAction(performance.now(), m.action === "relieve-memory" ? m.name : "-", `${m.action} done by worker`, m.action === "relieve-memory" ? null : m.name, m.ok, m.detail);
  }

  private beat(startMs: number): void {
    const P = this.opts.periodMs;
    // Lateness counts from the slot that was due (the first one skipped, after a stall): measured
    // from the slot this beat takes, a 1.55 s stall of PID 1 at 100 ms read as 66 ms.
    const wantedDue = this.origin + this.slot * P;
    // A timer more than a period late: this beat takes the current slot, the skipped ones are recorded.
    const behind = Math.floor((startMs - this.origin) / P);
    if (behind > this.slot) {
      this.tally.missed += behind - this.slot;
      this.slot = behind;
      // The beat itself was held up (the init SIGSTOPped, a suspended VM): the worker, a thread of the
      // same process, was most likely frozen too. Its silence is judged afresh from now: it was
      // terminated as stalled at the first beat after a 2.5 s SIGSTOP of PID 1, and counted as a crash.
      this.metabolic.excuseQuiet();
    }
    const n = this.slot;
    this.lastRun = n;
    const due = this.origin + n * P;
    const lap = this.tally.laps(startMs);
    try {
      this.metabolic.reader.read();
      this.checkStale();
      this.serviceSync.sync(this.opts.services);
      lap("read");
      // Not on an all-zero hw.mmio nor a worker's first sample (no rates yet): read as an idle machine
      // they cleared raised and carried interrupts, which the next sample raised (and acted on) again.
      // Nor on a sample older than the stale limit (the worker hung, dead or backing off): the beats
      // ran the cortex on its frozen numbers and repeated actions (a restart every repeat_ms) on them.
      const r = this.metabolic.reader;
      const fresh = r.lastNewAt >= 0 && performance.now() - r.lastNewAt <= this.staleLimitMs();
      if (this.binding && this.bank && this.dispatch && r.measured && fresh) {
        const values = this.metabolic.reader.values;
        const scores = this.binding.run(values);
        const t = lap("cortex");
        const edges = this.bank.update(scores, t);
        if (edges.length > 0) this.dispatch.onEdges(edges, values, this.serviceSync.list, t);
        this.dispatch.onBeat(this.bank.active, values, this.serviceSync.list, t);
        lap("dispatch");
      }
      if (this.opts.drain && this.cfg.drain_max > 0) {
        this.tally.drained += this.opts.drain(this.cfg.drain_max);
        lap("drain");
      }
      this.watchdog?.pet();
      lap("watchdog");
    } catch (err) {
      this.tally.failed(n, err);
    }
    const end = performance.now();
    this.tally.ended(startMs - wantedDue, end - startMs);
    const info: BeatInfo = { n: (this.opts.firstBeat ?? 0) + n, slot: n, dueMs: due, startMs, lateMs: startMs - wantedDue, tickMs: end - startMs };
    try {
      this.opts.onBeat?.(info);
    } catch (err) {
      log.error("onBeat hook failed", { error: describeError(err) });
    }
    const every = this.opts.logEvery ?? 0;
    if (every > 0 && this.tally.beats % every === 0) this.tally.logLine(info.n, this.opts.periodMs, this.bank?.activeNames().join(",") || "-");
    if (this.workerDue) this.startWorkerAfterBeat();
  }

  /** After this beat's turn of the event loop; not when stopped meanwhile, nor twice. */
  private startWorkerAfterBeat(): void {
    this.workerDue = false;
    setImmediate(() => {
      if (this.state === "running" && !this.metabolic.stats().running) this.metabolic.start();
    });
  }

  private scheduleNext(): void {
    // Stopped from inside this tick (onBeat): nothing more is scheduled (no timer, no guard thread).
    if (this.state !== "running") return;
    this.slot++;
    const due = this.origin + this.slot * this.opts.periodMs;
    this.clock.at(due, (t) => this.fire("tick", t));
  }

  /** How long the worker may be silent: never shorter than three sampling intervals (a worker told to sample every 3 s is quiet 3 s). */
  private staleLimitMs(): number {
    return Math.max(1000, this.cfg.stale_periods * Math.max(50, this.opts.periodMs), 3 * this.sampleMs);
  }

  private checkStale(): void {
    const now = monoMs();
    if (now < this.staleCheckFrom) return;
    const m = this.metabolic.stats();
    const limit = this.staleLimitMs();
    // Judged on the current worker's own silence; while it loads (seconds on a slow machine) it gets a start-up grace.
    if (m.running && m.quietMs > (m.workerReady ? limit : Math.max(limit, STARTUP_GRACE_MS))) {
      this.metabolic.restartStale(`no sample for ${m.quietMs.toFixed(0)} ms${m.workerReady ? "" : " (never ready)"}`);
      this.staleCheckFrom = now + limit + 2000;
    }
  }

  private recentRecords(): HeartbeatStats["recentRecords"] {
    const now = performance.now();
    return (this.dispatch?.records ?? []).slice(-RECENT_RECORDS).map((r) => ({ agoMs: Math.max(0, Math.round(now - r.atMs)), kind: r.kind, interrupt: r.interrupt, action: r.action ?? null, target: r.target ?? null, ok: r.ok ?? null, detail: r.detail ?? null }));
  }

  stats(): HeartbeatStats {
    return {
      state: this.state,
      periodMs: this.opts.periodMs,
      beats: this.tally.beats,
      missed: this.tally.missed,
      lastSlot: this.lastRun,
      lastBeat: this.lastBeat,
      ...this.tally.timings(),
      errors: this.tally.errors,
      drained: this.tally.drained,
      interrupts: this.bank ? this.bank.names.map((name, i) => ({ name, active: this.bank!.active[i] === 1, raised: this.bank!.counts[i]! })) : [],
      actions: this.dispatch?.actions ?? 0,
      recentRecords: this.recentRecords(),
      metabolic: this.metabolic.stats(),
      watchdog: { armed: this.watchdog?.armed ?? false, pets: this.watchdog?.pets ?? 0 },
      tornReads: this.metabolic.reader.torn,
      wake: { mode: this.cfg.wake, fifo: this.clock.sleeper?.fifo ?? null, beatFifo: this.clock.priority?.state ?? null, beatGuard: this.clock.priority?.guardState ?? null, sleeperWakes: this.clock.sleeper?.wakes ?? 0, sleeperMisses: this.clock.sleeper?.misses ?? 0 },
    };
  }
}

export type { BeatInfo, HeartbeatOptions, HeartbeatStats } from "./heartbeat-types.ts";

/** The `heartbeat` section checked and filled with its defaults (a problem: ConfigError naming its path). */
function parseSection(section: HeartbeatOptions["config"]): HeartbeatConfig {
  const parsed = heartbeatConfigSchema.safeParse(section ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ConfigError(["heartbeat", ...issue.path.map(String)].join("."), issue.message);
}
