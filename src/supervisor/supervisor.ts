// Runs services: performs the state machine's effects (spawn, timers, signals) and stops in order.
import type { ServiceConfig } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { kill, spawn } from "../sys/process.ts";
import { Sig, signalNumber } from "../sys/signals.ts";
import { isSettled, newRecord, step, type ServiceEvent, type ServiceRecord, type ServiceState } from "./service-machine.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";
import type { CgroupUsage } from "../sys/cgroup.ts";

const log = logger("supervisor");

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid: number | null;
  restarts: number;
  lastStatus: number | null;
  startedAt: number;
  /** The service's cgroup and what it uses (null when cgroups are off). */
  cgroup?: ({ path: string } & CgroupUsage) | null;
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

  constructor(
    services: ServiceConfig[],
    startOrder: string[],
    private readonly reaper: Reaper,
    private readonly baseEnv: Record<string, string | undefined> = process.env,
    /** Each service in a cgroup of its own (service-cgroup.ts); null: all share the init's. */
    private readonly cgroups: ServiceCgroups | null = null,
  ) {
    for (const c of services) this.slots.set(c.name, { rec: newRecord(c), timer: null, timerDue: 0, settledWaiters: [], cgroupWatch: null });
    this.order = startOrder;
  }

  /** Starts every service in dependency order; a service starts once its dependencies run. */
  startAll(): void {
    for (const name of this.order) this.startIfReady(name);
  }

  private startIfReady(name: string): void {
    const slot = this.slots.get(name);
    if (!slot || slot.rec.state !== "pending" || slot.rec.stopRequested || this.shuttingDown) return;
    const blocked = slot.rec.config.depends_on.filter((d) => this.slots.get(d)?.rec.state !== "running");
    if (blocked.length > 0) {
      log.debug("waiting for dependencies", { service: name, waiting_for: blocked.join(",") });
      return;
    }
    this.dispatch(slot, { type: "start" });
  }

  private dispatch(slot: Slot, ev: ServiceEvent): void {
    const now = performance.now();
    const effects = step(slot.rec, ev, now);
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
          if (e.signal === "kill") this.signalGroup(slot.rec, Sig.SIGKILL);
          else this.signalService(slot.rec, signalNumber(slot.rec.config.stop_signal) ?? Sig.SIGTERM);
          if (e.signal === "kill") this.cgroups?.kill(slot.rec.config.name);
          break;
        case "kill-leftovers":
          this.cgroups?.kill(slot.rec.config.name);
          break;
        case "watch-cgroup":
          this.watchCgroup(slot);
          break;
        case "log":
          log[e.level](e.msg, e.fields);
          break;
        case "settled":
          if (slot.rec.state === "stopped") this.stopLog.push(slot.rec.config.name);
          for (const w of slot.settledWaiters.splice(0)) w();
          break;
      }
    }
    if (slot.rec.state === "running" && ev.type === "spawned") {
      for (const n of this.order) if (this.slots.get(n)?.rec.config.depends_on.includes(slot.rec.config.name)) this.startIfReady(n);
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
    const env = c.inherit_env ? { ...this.baseEnv, ...c.env } : { ...c.env };
    let pid: number;
    const cgroup = this.cgroups?.prepare(c) ?? undefined;
    try {
      pid = spawn({ argv: c.argv, env, cwd: c.cwd, uid: c.uid, gid: c.gid, groups: c.groups ?? (c.uid !== undefined ? [] : undefined), newSession: true, noNewPrivs: c.no_new_privs, capabilities: c.keep_all_capabilities ? undefined : c.capabilities, cgroup });
    } catch (e) {
      log.error("spawn failed", { service: c.name, error: describeError(e) });
      this.dispatch(slot, { type: "spawn-failed", error: describeError(e) });
      return;
    }
    this.watchExit(slot, pid);
    this.started.push(c.name);
    this.dispatch(slot, { type: "spawned", pid });
  }

  /** Routes the exit of the service's main process to its state machine, with what is left in its cgroup. */
  private watchExit(slot: Slot, pid: number): void {
    this.reaper.watch(pid, (r) => this.dispatch(slot, { type: "exited", status: r.status, signal: r.signal, leftovers: this.cgroups?.populated(slot.rec.config.name) ?? false }));
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

  /** The process group, the leader, and every process in the service's cgroup (those that left the group). */
  private signalService(rec: ServiceRecord, sig: number): void {
    this.signalGroup(rec, sig);
    for (const p of this.cgroups?.pids(rec.config.name) ?? []) {
      try {
        kill(p, sig);
      } catch {
        /* gone */
      }
    }
  }

  private signalGroup(rec: ServiceRecord, sig: number): void {
    if (rec.pid === null) return;
    try {
      // Services lead their own session: signal the whole group, then the leader in case it left it.
      kill(-rec.pid, sig);
    } catch {
      /* group gone */
    }
    try {
      kill(rec.pid, sig);
    } catch {
      /* gone */
    }
  }

  start(name: string): void {
    const slot = this.mustGet(name);
    this.dispatch(slot, { type: "start" });
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
    this.signalGroup(this.mustGet(name).rec, sig);
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
    this.cgroups?.removeAll(this.order);
  }

  private stopReady(): void {
    const reverse = [...new Set([...this.started].reverse())];
    for (const name of [...reverse, ...this.order]) {
      const slot = this.slots.get(name);
      if (!slot || slot.rec.state !== "running") continue;
      const dependents = [...this.slots.values()].filter((o) => o.rec.config.depends_on.includes(name) && (o.rec.state === "running" || o.rec.state === "stopping"));
      if (dependents.length === 0) this.dispatch(slot, { type: "stop" });
    }
  }

  list(): ServiceStatus[] {
    return this.order.map((n) => {
      const r = this.slots.get(n)!.rec;
      const usage = this.cgroups?.usage(n);
      const cgroup = this.cgroups && usage ? { path: this.cgroups.pathOf(n), ...usage } : null;
      return { name: n, state: r.state, pid: r.pid, restarts: r.restarts, lastStatus: r.lastStatus, startedAt: r.startedAt, cgroup };
    });
  }

  /**
   * State for a live re-exec: each service's state, pid, counters, stop request and what is left of
   * its grace period or back-off (times as ages and durations: the next image has another clock).
   */
  snapshot(): ServiceSnapshot[] {
    const now = performance.now();
    return this.order.map((n) => {
      const slot = this.slots.get(n)!;
      const r = slot.rec;
      return {
        name: n,
        state: r.state,
        pid: r.state === "running" || r.state === "stopping" ? r.pid : null,
        restarts: r.restarts,
        failures: r.failures,
        restartAgesMs: r.restartTimes.map((t) => Math.max(0, now - t)),
        runningForMs: r.pid !== null ? Math.max(0, now - r.startedAt) : 0,
        lastStatus: r.lastStatus,
        stopRequested: r.stopRequested,
        timerLeftMs: slot.timer ? Math.max(0, slot.timerDue - now) : null,
      };
    });
  }

  /**
   * After a re-exec: every service resumes the state it had. Running and stopping ones keep their
   * process (same pid; a stopping one keeps its stop request and the rest of its grace period, then
   * SIGKILL), one in back-off keeps the rest of its delay, and stopped, exited or failed ones stay
   * down. Services new in the config start as usual. The exit of a process that ends during the
   * handoff reaches its service: the reaper routes it here once it runs (it must not have reaped
   * before this call).
   */
  adopt(list: ServiceSnapshot[]): void {
    const now = performance.now();
    for (const h of list) {
      const slot = this.slots.get(h.name);
      if (!slot) {
        log.warn("service from before the re-exec is no longer configured; leaving it to the reaper", { service: h.name, pid: h.pid });
        continue;
      }
      const r = slot.rec;
      r.restarts = h.restarts;
      r.failures = h.failures;
      r.restartTimes = h.restartAgesMs.map((a) => now - a);
      r.lastStatus = h.lastStatus;
      r.stopRequested = h.stopRequested;
      const holdsProcess = (h.state === "running" || h.state === "stopping") && h.pid !== null;
      r.state = holdsProcess ? h.state : h.state === "running" || h.state === "stopping" ? "pending" : h.state;
      if (holdsProcess) {
        r.pid = h.pid;
        r.startedAt = now - h.runningForMs;
        this.started.push(h.name);
        this.watchExit(slot, h.pid!);
        log.info("service adopted", { service: h.name, pid: h.pid, state: h.state, restarts: h.restarts });
        if (h.state === "stopping") this.setTimer(slot, h.timerLeftMs ?? 0, "grace-elapsed");
      } else if (h.state === "backoff") {
        this.setTimer(slot, h.timerLeftMs ?? 0, "backoff-elapsed");
      } else if (h.state !== "pending") {
        log.info("service stays down after re-exec", { service: h.name, state: h.state });
      }
    }
    this.startAll();
  }

  /** Pids of running services (to tell them apart from other descendants). */
  pids(): number[] {
    return [...this.slots.values()].map((s) => s.rec.pid).filter((p): p is number => p !== null);
  }
}
