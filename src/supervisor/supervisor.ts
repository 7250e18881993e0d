// Runs services: performs the state machine's effects (spawn, timers, signals, checks) and stops in order.
import type { ServiceConfig } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { parseSignal, Sig } from "../sys/signals.ts";
import { NotifySocket } from "./notify-socket.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import { ServiceChecks } from "./service-checks.ts";
import { ServiceLauncher } from "./service-launch.ts";
import { ServiceLogs } from "./service-logs.ts";
import { closeFd } from "../sys/log-pipe.ts";
import { holdsProcess, restoreRecord, toSnapshot } from "./service-handover.ts";
import { isSettled, newRecord, step, type ServiceEvent, type ServiceRecord, type ServiceState } from "./service-machine.ts";
import { applyNotify, belongsTo } from "./service-notify.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";
import { statusOf, type ServiceStatus } from "./service-status.ts";

export type { ServiceStatus };

const log = logger("supervisor");

export interface SupervisorOptions {
  /** Each service in a cgroup of its own (service-cgroup.ts); null: all share the init's. */
  cgroups?: ServiceCgroups | null;
  /** Where the sd_notify socket goes (NOTIFY_SOCKET of services with `ready: {notify}` or `watchdog_ms`). */
  notifyPath?: string | null;
  /** Services' stdout/stderr through pipes PID 1 reads (ring, console prefix, kmsg, files); off: inherited. */
  logs?: { fileDir: string | null; kmsg: boolean } | null;
  /** The main service (config `main`) exited by itself (src/boot/exit-status.ts ends the machine). */
  onMainExit?: ((exit: MainExit) => void) | null;
}

/** How the main service ended: `status` shell-style (code, or 128 + signal). */
export interface MainExit {
  service: string;
  status: number;
  signal: number | null;
}

interface Slot {
  rec: ServiceRecord;
  timer: ReturnType<typeof setTimeout> | null;
  /** When the pending timer fires (performance.now()), for a re-exec handoff. */
  timerDue: number;
  settledWaiters: Array<() => void>;
  /** Polls the cgroup until it is empty (a stop waiting for processes that left the group). */
  cgroupWatch: ReturnType<typeof setInterval> | null;
}

export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private readonly order: string[];
  /** Names in the order their processes were last started (for reverse-order shutdown). */
  private readonly started: string[] = [];
  /** Every stop observed, in order (for tests and status). */
  readonly stopLog: string[] = [];
  private shuttingDown = false;
  /** Extra environment per service, set by whoever starts it (the fleet phase: FLEET_LEADER_REV). */
  private readonly extraEnv = new Map<string, Record<string, string>>();
  private readonly cgroups: ServiceCgroups | null;
  private readonly checks: ServiceChecks;
  private readonly launch: ServiceLauncher;
  private notify: NotifySocket | null = null;
  private readonly logs: ServiceLogs | null;
  private readonly onMainExit: ((exit: MainExit) => void) | null;

  constructor(
    services: ServiceConfig[],
    startOrder: string[],
    private readonly reaper: Reaper,
    baseEnv: Record<string, string | undefined> = process.env,
    opts: SupervisorOptions = {},
  ) {
    for (const c of services) this.slots.set(c.name, { rec: newRecord(c), timer: null, timerDue: 0, settledWaiters: [], cgroupWatch: null });
    this.order = startOrder;
    this.cgroups = opts.cgroups ?? null;
    this.onMainExit = opts.onMainExit ?? null;
    this.logs = opts.logs ? new ServiceLogs(new Map(services.map((s) => [s.name, s])), opts.logs.fileDir, opts.logs.kmsg) : null;
    this.launch = new ServiceLauncher(reaper, baseEnv, this.cgroups, () => this.notify?.path ?? null, (name) => this.extraEnv.get(name));
    this.checks = new ServiceChecks(
      (name, ev) => this.dispatch(this.mustGet(name), ev),
      (name) => (argv, timeoutMs) => this.launch.command(this.mustGet(name).rec.config, argv, timeoutMs).then((r) => (r.timedOut ? null : r.status)),
    );
    if (opts.notifyPath && services.some((s) => (s.ready && "notify" in s.ready) || s.watchdog_ms !== undefined)) {
      try {
        this.notify = new NotifySocket(opts.notifyPath, (sender, fields) => this.onNotify(sender.pid, fields));
      } catch (e) {
        log.error("cannot open the sd_notify socket; notify readiness will time out", { path: opts.notifyPath, error: describeError(e) });
      }
    }
  }

  /** Starts every service in dependency order; a service starts once its dependencies are ready. */
  startAll(): void {
    for (const name of this.order) this.startIfReady(name);
  }

  private startIfReady(name: string): void {
    const slot = this.slots.get(name);
    if (!slot || slot.rec.state !== "pending" || slot.rec.stopRequested || this.shuttingDown) return;
    // Fleet services wait for the fleet phase, which calls start() (src/boot/fleet-phase.ts).
    if (slot.rec.config.fleet !== undefined) return;
    const blocked = slot.rec.config.depends_on.filter((d) => this.slots.get(d)?.rec.state !== "running");
    if (blocked.length > 0) {
      log.debug("waiting for dependencies to be ready", { service: name, waiting_for: blocked.join(",") });
      return;
    }
    this.dispatch(slot, { type: "start" });
  }

  private dispatch(slot: Slot, ev: ServiceEvent): void {
    const now = performance.now();
    const before = slot.rec.state;
    const effects = step(slot.rec, ev, now);
    const name = slot.rec.config.name;
    for (const e of effects) {
      switch (e.type) {
        case "spawn":
          this.doSpawn(slot);
          break;
        case "timer":
          this.setTimer(slot, e.ms, e.event);
          break;
        case "cancel-timer":
          if (slot.timer) clearTimeout(slot.timer);
          slot.timer = null;
          break;
        case "signal":
          // SIGKILL: the group, then cgroup.kill (atomic, unlike signalling listed pids while they fork).
          if (e.signal === "kill") this.launch.signalGroup(slot.rec.pid, Sig.SIGKILL);
          else this.launch.signalAll(name, slot.rec.pid, parseSignal(slot.rec.config.stop_signal) ?? Sig.SIGTERM);
          if (e.signal === "kill") this.cgroups?.kill(name);
          break;
        case "kill-leftovers":
          this.cgroups?.kill(name);
          break;
        case "watch-cgroup":
          this.watchCgroup(slot);
          break;
        case "await-ready":
          this.checks.awaitReady(slot.rec.config);
          break;
        case "became-ready":
          this.checks.becameReady(slot.rec.config);
          break;
        case "end-checks":
          this.checks.clear(name);
          break;
        case "log":
          log[e.level](e.msg, e.fields);
          break;
        case "main-exited":
          this.onMainExit?.({ service: name, status: e.status, signal: e.signal });
          break;
        case "settled":
          if (slot.rec.state === "stopped") this.stopLog.push(name);
          for (const w of slot.settledWaiters.splice(0)) w();
          break;
      }
    }
    if (holdsProcess(before) && !holdsProcess(slot.rec.state) && slot.rec.state !== "pending") this.launch.postStop(slot.rec.config);
    if (slot.rec.state === "running" && before !== "running") {
      for (const n of this.order) if (this.slots.get(n)?.rec.config.depends_on.includes(name)) this.startIfReady(n);
    }
    if (this.shuttingDown && ev.type === "exited") this.stopReady();
  }

  private setTimer(slot: Slot, ms: number, event: "backoff-elapsed" | "grace-elapsed"): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timerDue = performance.now() + ms;
    slot.timer = setTimeout(() => {
      slot.timer = null;
      this.dispatch(slot, { type: event });
    }, ms);
  }

  private doSpawn(slot: Slot): void {
    const c = slot.rec.config;
    if (!c.pre_start) return this.spawnNow(slot);
    void this.launch.preStart(c).then((failed) => {
      if (slot.rec.state !== "pending" || slot.rec.stopRequested) return;
      if (failed === null) this.spawnNow(slot);
      else this.dispatch(slot, { type: "spawn-failed", error: failed });
    });
  }

  private spawnNow(slot: Slot): void {
    const c = slot.rec.config;
    let pid: number;
    const pipes = this.logs?.open(c.name);
    try {
      pid = this.launch.spawnMain(c, pipes);
    } catch (e) {
      log.error("spawn failed", { service: c.name, error: describeError(e) });
      this.dispatch(slot, { type: "spawn-failed", error: describeError(e) });
      return;
    }
    if (pipes) for (const fd of pipes) closeFd(fd);
    this.watchExit(slot, pid);
    this.started.push(c.name);
    this.dispatch(slot, { type: "spawned", pid });
  }

  /** Routes the exit of the service's main process to its state machine, with what is left in its cgroup. */
  private watchExit(slot: Slot, pid: number): void {
    this.reaper.watch(pid, (r) => {
      // A former main process (MAINPID= named another) ends without ending the service.
      if (slot.rec.pid !== pid) return;
      this.dispatch(slot, { type: "exited", status: r.status, signal: r.signal, leftovers: this.cgroups?.populated(slot.rec.config.name) ?? false });
    });
  }

  private onNotify(pid: number, fields: Map<string, string>): void {
    const pidsOf = (s: Slot) => (this.cgroups ? this.cgroups.pids(s.rec.config.name) : null);
    const slot = [...this.slots.values()].find((s) => holdsProcess(s.rec.state) && belongsTo(s.rec, pid, pidsOf(s)));
    if (!slot) {
      log.debug("sd_notify message from a process of no service; dropped", { pid });
      return;
    }
    const c = slot.rec.config;
    applyNotify(slot.rec, fields, {
      ready: () => this.dispatch(slot, { type: "ready" }),
      mainPid: (p) => {
        slot.rec.pid = p;
        this.watchExit(slot, p);
      },
      watchdogPing: () => this.checks.ping(c),
      watchdogTrigger: () => this.dispatch(slot, { type: "watchdog-missed" }),
      belongs: (p) => belongsTo(slot.rec, p, pidsOf(slot)),
    });
  }

  private watchCgroup(slot: Slot): void {
    if (slot.cgroupWatch || !this.cgroups) return;
    const name = slot.rec.config.name;
    slot.cgroupWatch = setInterval(() => {
      if (this.cgroups!.populated(name)) return;
      clearInterval(slot.cgroupWatch!);
      slot.cgroupWatch = null;
      this.dispatch(slot, { type: "cgroup-empty" });
    }, 20);
  }

  /** Sets variables added to a service's environment from its next start on. */
  setEnv(name: string, env: Record<string, string>): void {
    this.extraEnv.set(name, env);
  }

  start(name: string): void {
    this.dispatch(this.mustGet(name), { type: "start" });
  }

  /** Stops one service (stop signal, grace, SIGKILL); resolves when it holds no process. */
  stop(name: string): Promise<void> {
    const slot = this.mustGet(name);
    const done = this.settled(slot);
    this.dispatch(slot, { type: "stop" });
    return done;
  }

  async restart(name: string): Promise<void> {
    await this.stop(name);
    this.start(name);
  }

  /** Sends a signal to a running service's process group (used by throttling). */
  signal(name: string, sig: number): void {
    this.launch.signalGroup(this.mustGet(name).rec.pid, sig);
  }

  private settled(slot: Slot): Promise<void> {
    if (isSettled(slot.rec)) return Promise.resolve();
    return new Promise((resolve) => slot.settledWaiters.push(resolve));
  }

  private mustGet(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new Error(`unknown service ${JSON.stringify(name)}`);
    return s;
  }

  /**
   * Stops every service in reverse dependency order: a service gets its stop signal as soon as no
   * running service depends on it; independent services are signalled at once. Resolves when all
   * hold no process (each bounded by its grace period, then SIGKILL).
   */
  async stopAll(): Promise<void> {
    this.shuttingDown = true;
    for (const slot of this.slots.values()) {
      if (slot.rec.state === "backoff" || slot.rec.state === "pending") this.dispatch(slot, { type: "stop" });
    }
    const all = [...this.slots.values()].map((s) => this.settled(s));
    this.stopReady();
    await Promise.all(all);
    this.checks.clearAll();
    this.notify?.close();
    this.notify = null;
    this.logs?.close();
    this.cgroups?.removeAll(this.order);
  }

  private stopReady(): void {
    const reverse = [...new Set([...this.started].reverse())];
    const up = (s: ServiceState) => s === "running" || s === "starting";
    for (const name of [...reverse, ...this.order]) {
      const slot = this.slots.get(name);
      if (!slot || !up(slot.rec.state)) continue;
      const dependents = [...this.slots.values()].filter((o) => o.rec.config.depends_on.includes(name) && (up(o.rec.state) || o.rec.state === "stopping"));
      if (dependents.length === 0) this.dispatch(slot, { type: "stop" });
    }
  }

  list(): ServiceStatus[] {
    return this.order.map((n) => statusOf(this.slots.get(n)!.rec, this.cgroups));
  }

  /**
   * State for a live re-exec: each service's state, pid, counters, stop request, STATUS text and
   * what is left of its grace period or back-off.
   */
  snapshot(): ServiceSnapshot[] {
    const now = performance.now();
    return this.order.map((n) => {
      const slot = this.slots.get(n)!;
      return toSnapshot(slot.rec, slot.timer ? Math.max(0, slot.timerDue - now) : null, now, this.logs?.handover(n) ?? []);
    });
  }

  /**
   * After a re-exec: every service resumes the state it had. Starting, running and stopping ones
   * keep their process (same pid; a starting one waits for readiness again, a running one gets its
   * health checks and watchdog back, a stopping one keeps its stop request and the rest of its grace
   * period, then SIGKILL), one in back-off keeps the rest of its delay, and stopped, exited or
   * failed ones stay down. Services new in the config start as usual. The exit of a process that
   * ends during the handoff reaches its service: the reaper routes it here once it runs (it must not
   * have reaped before this call).
   */
  adopt(list: ServiceSnapshot[]): void {
    const now = performance.now();
    for (const h of list) {
      const slot = this.slots.get(h.name);
      if (!slot) {
        log.warn("service from before the re-exec is no longer configured; leaving it to the reaper", { service: h.name, pid: h.pid });
        continue;
      }
      this.logs?.adopt(h.name, h.logFds);
      if (restoreRecord(slot.rec, h, now)) {
        this.started.push(h.name);
        this.watchExit(slot, h.pid!);
        log.info("service adopted", { service: h.name, pid: h.pid, state: h.state, restarts: h.restarts });
        if (h.state === "stopping") this.setTimer(slot, h.timerLeftMs ?? 0, "grace-elapsed");
        else if (h.state === "starting") this.checks.awaitReady(slot.rec.config);
        else this.checks.becameReady(slot.rec.config);
      } else if (h.state === "backoff") {
        this.setTimer(slot, h.timerLeftMs ?? 0, "backoff-elapsed");
      } else if (h.state !== "pending") {
        log.info("service stays down after re-exec", { service: h.name, state: h.state });
      }
    }
    this.startAll();
  }

  /** Recent output lines of a service (after sequence `after`, the last `limit`); null when logs are not kept. */
  logLines(name: string, after?: number, limit?: number) {
    this.mustGet(name);
    return this.logs ? this.logs.read(name, after, limit) : null;
  }

  /** Pids of running services (to tell them apart from other descendants). */
  pids(): number[] {
    return [...this.slots.values()].map((s) => s.rec.pid).filter((p): p is number => p !== null);
  }
}
