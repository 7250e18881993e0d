// One supervised service: performs its state machine's effects (spawn, timers, signals, checks, cgroup watch).
import type { ServiceConfig } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { Sig } from "../sys/signals.ts";
import { parentOf, processExists } from "../util/process-exists.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import type { ServiceChecks } from "./service-checks.ts";
import type { Adopted, ServiceLauncher } from "./service-launch.ts";
import type { ServiceLogs } from "./service-logs.ts";
import type { ServiceEvent, TimerEvent } from "./service-events.ts";
import { isSettled, step } from "./service-machine.ts";
import { holdsProcess, markStarted, newRecord, type ServiceRecord, type ServiceState } from "./service-record.ts";
import { RunLeftovers } from "./run-leftovers.ts";
import { RunPreStart } from "./run-pre-start.ts";
import { RunningHooks, type HookHandover } from "./running-hooks.ts";
import { awaitCommand } from "./service-command.ts";
import { MainIdentity } from "./main-identity.ts";

const log = logger("supervisor");

/** How the main service ended: `status` shell-style (code, or 128 + signal). */
export interface MainExit {
  service: string;
  status: number;
  signal: number | null;
}

/** What every service's runner shares with the supervisor. */
export interface RunnerContext {
  reaper: Reaper;
  launch: ServiceLauncher;
  checks: ServiceChecks;
  cgroups: ServiceCgroups | null;
  logs: ServiceLogs | null;
  onMainExit: ((exit: MainExit) => void) | null;
  /** Names in the order their processes were last started (for reverse-order shutdown). */
  started: string[];
  /** A service stopped (the shutdown's stop order keeps it; a stop before the shutdown is not kept: the list grew with every stop by hand). */
  stopped: (name: string) => void;
  /** After each event, with the state before it (the supervisor starts dependents, continues a shutdown). */
  afterEvent(runner: ServiceRunner, before: ServiceState, ev: ServiceEvent): void;
  /** Reads the sd_notify messages waiting, before an exit is handled (a MAINPID= sent before it names the next main process). */
  drainNotify(): void;
  /** A run's post_stop ended (the shutdown goes on: a dependency waits for its dependents' post_stop). */
  postStopDone(runner: ServiceRunner): void;
}

export class ServiceRunner {
  readonly rec: ServiceRecord;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the pending timer fires (performance.now()), for a re-exec handoff, and what it delivers. */
  private timerDue = 0;
  private timerEvent: TimerEvent = "grace-elapsed";
  private readonly settledWaiters: Array<() => void> = [];
  private readonly preStart: RunPreStart;
  /**
   * The post_stop of the run that ended, while it runs: part of the stop, as systemd's ExecStopPost.
   * A stop, the shutdown (and the dependencies it stops next) and the next run wait for it; the
   * shutdown's drain killed it (status 143) and the next run started beside it.
   */
  private postStopping: Promise<void> | null = null;
  /** A start came while post_stop ran: the run spawns once it is over. */
  private spawnAfterPostStop = false;
  readonly leftovers: RunLeftovers;
  /** Its pre_start or post_stop while it runs (handed over at a live re-exec). */
  readonly hooks = new RunningHooks();
  /** Whether the main pid still names the process named by MAINPID= (or adopted), once it is not our child. */
  private readonly main: MainIdentity;

  constructor(
    config: ServiceConfig,
    private readonly ctx: RunnerContext,
  ) {
    this.rec = newRecord(config);
    this.leftovers = new RunLeftovers(ctx.cgroups ?? null, config.name);
    this.preStart = new RunPreStart(ctx.cgroups ?? null, config.name);
    this.main = new MainIdentity(ctx.cgroups ?? null, config.name);
  }

  dispatch(ev: ServiceEvent): void {
    const now = performance.now();
    const before = this.rec.state;
    const effects = step(this.rec, ev, now);
    const name = this.rec.config.name;
    const ctx = this.ctx;
    let settledNow = false;
    for (const e of effects) {
      switch (e.type) {
        case "spawn":
          this.doSpawn();
          break;
        case "timer":
          this.setTimer(e.ms, e.event, now);
          break;
        case "cancel-timer":
          if (this.timer) clearTimeout(this.timer);
          this.timer = null;
          break;
        case "signal":
          // SIGKILL: the group, then cgroup.kill (atomic, unlike signalling listed pids while they fork), or the run's groups.
          if (e.signal === "kill") ctx.launch.signalGroup(this.main.toSignal(this.rec.pid), Sig.SIGKILL);
          else ctx.launch.signalStop(this.rec.config, this.main.toSignal(this.rec.pid), this.leftovers.signalGroups());
          if (e.signal === "kill") this.leftovers.kill();
          break;
        case "kill-leftovers":
          this.leftovers.kill();
          this.leftovers.forget();
          break;
        case "watch-cgroup":
          this.leftovers.whenEmpty(() => this.dispatch({ type: "cgroup-empty" }));
          break;
        case "await-ready":
          ctx.checks.awaitReady(this.rec.config, this.rec.startedAt);
          break;
        case "became-ready":
          ctx.checks.becameReady(this.rec.config);
          break;
        case "end-checks":
          ctx.checks.clear(name);
          break;
        case "log":
          log[e.level](e.msg, e.fields);
          break;
        case "give-up-run":
          log.error(`service's run still there ${e.waitedMs} ms after SIGKILL (uninterruptible sleep, or kept populated); given up: the service is failed, its processes no longer waited for`, { service: name, pid: e.pid, pids: this.leftovers.giveUp(e.pid).join(",") || "-" });
          break;
        case "main-exited":
          ctx.onMainExit?.({ service: name, status: e.status, signal: e.signal });
          break;
        case "settled":
          if (this.rec.state === "stopped") ctx.stopped(name);
          settledNow = true;
          break;
      }
    }
    this.abandonPreStart();
    // A start that failed (its pre_start, or the spawn) ends a run too, as systemd runs ExecStopPost= then: what the pre_start set up was never cleaned up.
    if ((holdsProcess(before) && !holdsProcess(this.rec.state) && this.rec.state !== "pending") || (ev.type === "spawn-failed" && before === "pending")) this.runPostStop();
    if (settledNow) {
      const waiters = this.settledWaiters.splice(0);
      if (this.postStopping) void this.postStopping.then(() => waiters.forEach((w) => w()));
      else for (const w of waiters) w();
    }
    ctx.afterEvent(this, before, ev);
  }

  /** Whether the post_stop of the run that ended is still running. */
  get postStopRunning(): boolean {
    return this.postStopping !== null;
  }

  private runPostStop(adopted?: Adopted): void {
    const c = this.rec.config;
    if (!c.post_stop) return;
    const p = this.hooks.track("post_stop", (onSpawn) => this.ctx.launch.postStop(c, onSpawn, adopted)!);
    const mine = (this.postStopping = this.postStopping ? Promise.all([this.postStopping, p]).then(() => undefined) : p);
    void mine.then(() => {
      if (this.postStopping !== mine) return;
      // What the post_stop left in the service's cgroup (a process that left its group) goes before
      // the stop is over: no run of the service is there meanwhile (the next waits for the post_stop).
      this.ctx.cgroups?.kill(c.name);
      this.postStopping = null;
      if (this.spawnAfterPostStop) {
        this.spawnAfterPostStop = false;
        if (this.rec.state === "pending" && !this.rec.stopRequested) this.doSpawn();
      }
      this.ctx.postStopDone(this);
    });
  }

  /**
   * After a live re-exec: the pre_start or post_stop the previous image had running is waited for
   * (the rest of its timeout) as if this image had started it. It was left to run unwatched, and a
   * second pre_start started beside it; the next run did not wait for the post_stop, nor did the shutdown.
   */
  adoptHooks(list: readonly HookHandover[]): void {
    const c = this.rec.config;
    for (const h of list) {
      const adopted = { pid: h.pid, leftMs: h.timeoutLeftMs };
      if (h.kind === "probe") void awaitCommand(this.ctx.reaper, h.pid, 0); // its check is over: this image probes again
      else if (h.kind === "post_stop" && c.post_stop) this.runPostStop(adopted);
      else if (h.kind === "pre_start" && c.pre_start && this.rec.state === "pending" && !this.preStart.running) this.awaitPreStart(this.hooks.track("pre_start", (onSpawn) => this.ctx.launch.preStart(c, onSpawn, adopted)));
      else log.warn(`${h.kind} from before the re-exec no longer belongs to the service; leaving it to the reaper`, { service: c.name, pid: h.pid });
    }
  }

  /** Arms the service's one timer (replacing a pending one), `ms` from `from`: the event is dispatched when it elapses. */
  setTimer(ms: number, event: TimerEvent, from = performance.now()): void {
    if (this.timer) clearTimeout(this.timer);
    const due = (this.timerDue = from + ms);
    this.timerEvent = event;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dispatch(event === "grace-elapsed" ? { type: event, dueAt: due } : { type: event });
    }, Math.max(0, due - performance.now()));
  }

  /** Adopted as stopping from a snapshot that could not be read (service-salvage.ts): the stop signal to what is found of its run. */
  signalStopNow(): void {
    this.ctx.launch.signalStop(this.rec.config, this.main.toSignal(this.rec.pid), this.leftovers.signalGroups());
  }

  /** What is left of the pending timer (ms), or null when none is pending (or, given `event`, when it is another's). */
  timerLeft(now: number, event?: TimerEvent): number | null {
    return this.timer && (event === undefined || event === this.timerEvent) ? Math.max(0, this.timerDue - now) : null;
  }

  /**
   * pre_start, then the main process. One pre_start per run: a start while it runs waits for it
   * (each start began another, all running at once), and a run that ends before it finishes
   * (stop) kills it and ignores its result (it went on, and its end spawned the main process
   * beside the next run's pre_start).
   */
  private doSpawn(): void {
    const c = this.rec.config;
    if (this.postStopping) {
      this.spawnAfterPostStop = true;
      return;
    }
    if (!c.pre_start) return this.spawnNow();
    if (this.preStart.running) return;
    this.awaitPreStart(this.hooks.track("pre_start", (onSpawn) => this.ctx.launch.preStart(c, onSpawn)));
  }

  /** The main process once the run's pre_start passed (`failed` null), else a failed start (run-pre-start.ts). */
  private awaitPreStart(preStart: Promise<string | null>): void {
    this.preStart.await(preStart, (failed) => {
      if (this.rec.state !== "pending" || this.rec.stopRequested) return;
      if (failed === null) this.spawnNow();
      else this.dispatch({ type: "spawn-failed", error: failed });
    });
  }

  /**
   * The run ended while its pre_start ran: that pre_start goes (its process group, which it leads,
   * and its cgroup), its result with it. With cgroups off only the cgroup was killed, that is
   * nothing: it ran on to its timeout, and the next start ran a second one beside it.
   */
  private abandonPreStart(): void {
    if (this.rec.state === "pending" || !this.preStart.abandon()) return;
    for (const pid of this.hooks.forget("pre_start")) this.ctx.launch.signalGroup(pid, Sig.SIGKILL);
  }

  private spawnNow(): void {
    const c = this.rec.config;
    let pid: number;
    // Out of descriptors (EMFILE) for its output pipes is this service's failed start, as a failed
    // fork is: it failed the whole boot, and the services started before it were left running.
    let pipes: [number, number] | undefined;
    try {
      pipes = this.ctx.logs?.open(c.name);
      this.ctx.checks.beforeSpawn(c);
      pid = this.ctx.launch.spawnMain(c, pipes);
    } catch (e) {
      // The write ends go: the read ends see end of file and leave the log reader (no descriptor kept per retry).
      if (pipes) for (const fd of pipes) closeFdQuietly(fd);
      this.dispatch({ type: "spawn-failed", error: describeError(e) });
      return;
    }
    if (pipes) for (const fd of pipes) closeFdQuietly(fd);
    this.main.clear();
    this.leftovers.begin(pid);
    this.watchExit(pid);
    markStarted(this.ctx.started, c.name);
    this.dispatch({ type: "spawned", pid });
  }

  /** Routes the exit of the service's main process to its state machine, with what is left in its cgroup. */
  watchExit(pid: number): void {
    this.ctx.reaper.watch(pid, (r) => {
      // A former main process (MAINPID= named another, maybe just before it exited: a forking
      // daemon's parent, whose exit was taken as the service's and its daemon left or killed) ends
      // without ending the service.
      this.ctx.drainNotify();
      // A group of the run that this exit emptied is dropped now, before another process can lead one under its number.
      if (this.rec.pid !== pid) return this.leftovers.prune();
      this.dispatch({ type: "exited", status: r.status, signal: r.signal, leftovers: this.leftovers.after(pid) });
    });
  }

  /**
   * watchExit for a main process the service named (MAINPID=), or one adopted after a live re-exec
   * (which may have been such a one): it need not be our child. A process we spawned is, and is
   * not checked (one /proc read per start saved).
   */
  watchMainPid(pid: number): void {
    this.leftovers.follow(pid);
    this.watchExit(pid);
    if (parentOf(pid) === process.pid) return this.main.clear();
    this.main.accept(pid);
    this.pollGone(pid);
  }

  /**
   * A main process that is not our child (MAINPID= naming a process its own parent reaps): its exit
   * never reaches our reaper. The service showed "running" with a dead pid, and a stop waited for
   * ever. Its end is noticed by polling; the status is unknown, so it counts as a failure.
   */
  private pollGone(pid: number): void {
    // Its start time and cgroup too (MainIdentity): the pid given to a new process between two looks
    // was taken for it (shown running for as long as that one lived, and signalled by a stop).
    const t = setInterval(() => {
      if (this.rec.pid !== pid) return clearInterval(t);
      if (processExists(pid) && parentOf(pid) !== null && this.main.holds(pid)) return;
      clearInterval(t);
      // Its exit never reaches the reaper: the watch would stay, and take the exit of a later child
      // given the same pid (an orphan reparented to the init) as this one's.
      this.ctx.reaper.unwatch(pid);
      this.ctx.drainNotify();
      // Reparented to us and reaped meanwhile (the reaper has dispatched its exit already), or it named another main process.
      if (this.rec.pid !== pid) return;
      log.warn("main process (MAINPID=) is gone; its exit status is unknown: it was not our child", { service: this.rec.config.name, pid });
      this.dispatch({ type: "exited", status: 255, signal: null, leftovers: this.leftovers.after(pid) });
    }, 200);
  }

  /** Resolves once the service holds no process and its post_stop is over (at once when so now). */
  settled(): Promise<void> {
    if (isSettled(this.rec)) return this.postStopping ?? Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }
}
