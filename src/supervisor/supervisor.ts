// Runs services: starts them in dependency order, routes sd_notify messages, stops them in reverse order, hands them over across a re-exec.
import type { ServiceConfig } from "../config/schema.ts";
import { describeError, NotNowError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { clockNs } from "../sys/machine.ts";
import { closeHandedNotify, NotifySocket, type NotifyPart } from "./notify-socket.ts";
import { routeNotify } from "./notify-route.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import { ServiceChecks } from "./service-checks.ts";
import { ServiceLauncher } from "./service-launch.ts";
import { ServiceLogs } from "./service-logs.ts";
import { adoptServices, type HandoverParts, snapshotServices } from "./supervisor-handover.ts";
import { mainNeeds, notRunning, satisfiesDependents, waitingOn, type Lookup } from "./dependencies.ts";
import type { ServiceEvent } from "./service-events.ts";
import { isAtRest, type ServiceState } from "./service-record.ts";
import { ServiceRunner, type MainExit, type RunnerContext } from "./service-runner.ts";
import { ServiceShutdown } from "./service-shutdown.ts";
import { StopRequests, type StopKind } from "./stop-requests.ts";
import type { ServiceSnapshot, ServicesPart } from "./service-snapshot.ts";
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
  /** The sd_notify socket the previous image handed over at a live re-exec (adopted when it checks out). */
  handedNotify?: NotifyPart | null;
}

export class Supervisor {
  private readonly slots = new Map<string, ServiceRunner>();
  private readonly order: string[];
  /** Names in the order their processes were last started (for reverse-order shutdown). */
  private readonly started: string[] = [];
  /** Services in the order the shutdown stopped them (stops before it are not counted: "order=a,a,a" listed each earlier stop). */
  readonly stopLog: string[] = [];
  private readonly shutdown: ServiceShutdown;
  private readonly requests = new StopRequests();
  /** Extra environment per service, set by whoever starts it (the fleet phase: FLEET_LEADER_REV). */
  private readonly extraEnv = new Map<string, Record<string, string>>();
  private startGate: ((name: string) => string | null) | null = null;
  private readonly cgroups: ServiceCgroups | null;
  private readonly checks: ServiceChecks;
  private readonly launch: ServiceLauncher;
  private notify: NotifySocket | null = null;
  private readonly logs: ServiceLogs | null;
  private readonly handover: HandoverParts;

  constructor(
    services: ServiceConfig[],
    startOrder: string[],
    reaper: Reaper,
    baseEnv: Record<string, string | undefined> = process.env,
    opts: SupervisorOptions = {},
  ) {
    this.order = startOrder;
    this.cgroups = opts.cgroups ?? null;
    // No services, no pipes to read: not even the 20 ms poll (an idle appliance would wake for it).
    this.logs = opts.logs && services.length > 0 ? new ServiceLogs(new Map(services.map((s) => [s.name, s])), opts.logs.fileDir, opts.logs.kmsg) : null;
    this.launch = new ServiceLauncher(reaper, baseEnv, this.cgroups, () => this.notify?.address ?? null, (name) => this.extraEnv.get(name), (name) => this.logs?.open(name));
    this.checks = new ServiceChecks(
      (name, ev) => this.mustGet(name).dispatch(ev),
      // Tracked like the hooks: a probe running at a live re-exec is ended by the next image (it ran on past its timeout).
      (name) => (argv, timeoutMs) => {
        const slot = this.mustGet(name);
        return slot.hooks.track("probe", (onSpawn) => this.launch.command(slot.rec.config, argv, timeoutMs, (pid) => onSpawn(pid, timeoutMs), true)).then((r) => (r.timedOut ? null : r.status));
      },
    );
    const ctx: RunnerContext = {
      reaper,
      launch: this.launch,
      checks: this.checks,
      cgroups: this.cgroups,
      logs: this.logs,
      onMainExit: opts.onMainExit ?? null,
      started: this.started,
      stopped: (name) => this.shutdown.stopped(name),
      afterEvent: (s, before, ev) => this.afterEvent(s, before, ev),
      drainNotify: () => this.notify?.drainWaiting(),
      postStopDone: () => this.shutdown.changed(),
    };
    for (const c of services) this.slots.set(c.name, new ServiceRunner(c, ctx));
    this.shutdown = new ServiceShutdown(this.slots, this.order, this.started, this.stopLog);
    this.handover = { slots: this.slots, order: this.order, requests: this.requests, logs: this.logs, checks: this.checks, started: this.started, cgroups: this.cgroups };
    const handed = opts.handedNotify ?? null;
    if (opts.notifyPath && services.some((s) => (s.ready && "notify" in s.ready) || s.watchdog_ms !== undefined)) {
      try {
        this.notify = new NotifySocket(opts.notifyPath, (sender, fields) => routeNotify(this.slots.values(), this.cgroups, this.checks, sender, fields), handed);
      } catch (e) {
        log.error("cannot open the sd_notify socket; notify readiness will time out", { path: opts.notifyPath, error: describeError(e) });
      }
    } else if (handed) closeHandedNotify(handed);
  }

  /** Starts every service in dependency order; a service starts once its dependencies are ready. */
  startAll(): void {
    for (const name of this.order) this.startIfReady(name);
  }

  private startIfReady(name: string): void {
    const slot = this.slots.get(name);
    if (!slot || slot.rec.state !== "pending" || slot.rec.stopRequested || this.shutdown.ending) return;
    // Fleet services wait for the fleet phase, which calls start() (src/boot/fleet-phase.ts).
    if (slot.rec.config.fleet !== undefined) return;
    const blocked = notRunning(slot.rec, this.get);
    if (blocked.length > 0) {
      log.debug("waiting for dependencies to be ready", { service: name, waiting_for: blocked.join(",") });
      return;
    }
    slot.dispatch({ type: "start" });
  }

  /** After a service's event: its dependents may start once it is running (or done); a shutdown goes on as processes exit. */
  private afterEvent(slot: ServiceRunner, before: ServiceState, ev: ServiceEvent): void {
    const name = slot.rec.config.name;
    if (satisfiesDependents(slot.rec.state) && !satisfiesDependents(before)) {
      for (const n of this.order) if (this.slots.get(n)?.rec.config.depends_on.includes(name)) this.startIfReady(n);
    }
    // A dependency that gave up (failed, or exited for good) holds its dependents back until it runs
    // again: said once, at warn (it was a debug line, and the dependents sat "pending" unexplained).
    if ((slot.rec.state === "failed" || slot.rec.state === "exited") && slot.rec.state !== before && !this.shutdown.ending) {
      const waiting = waitingOn(name, this.order, this.get);
      if (waiting.length > 0) log.warn("services wait for a dependency that is down; they start once it runs again", { dependency: name, state: slot.rec.state, waiting: waiting.join(",") });
      // The main service among them (or behind them) can never start: the machine ends (service-machine.ts).
      for (const [n, o] of this.slots) if (mainNeeds(n, name, this.get)) o.dispatch({ type: "dependency-down", dependency: name, state: slot.rec.state });
    }
    // A shutdown goes on whenever a service stops: by its exit, or by its cgroup emptying (a
    // dependency waited for ever on a dependent whose leftover processes it had to wait out).
    if (slot.rec.state !== before) this.shutdown.changed();
  }

  private readonly get: Lookup = (name) => this.slots.get(name)?.rec;

  /**
   * A check run before every start (the fleet phase's: a singleton only where this node leads, an
   * after-quorum service only once the quorum is met); a reason refuses the start (NotNowError).
   */
  setStartGate(gate: (name: string) => string | null): void {
    this.startGate = gate;
  }

  /** Sets variables added to a service's environment from its next start on. */
  setEnv(name: string, env: Record<string, string>): void {
    this.extraEnv.set(name, env);
  }

  /**
   * Starts a service at rest, or one waiting out its back-off (now). Refused (NotNowError) while it
   * stops, and once the machine shuts down: the reply said "started" and nothing started, and a
   * start during the shutdown spawned a service that outlived the init. A service whose
   * dependencies are not all running starts them (those at rest, first) and waits for them as
   * `pending`, as at boot: it was spawned at once, depends_on or not (`start api` ran api while db
   * was still starting, or stopped). Fleet services are started by the fleet phase, as they were.
   */
  start(name: string): void {
    const slot = this.mustGet(name);
    if (this.shutdown.ending) throw new NotNowError(`${name}: the machine is shutting down; services are not started`);
    if (slot.rec.state === "stopping") throw new NotNowError(`${name} is stopping; start it once it has stopped`);
    const refused = this.startGate?.(name) ?? null;
    if (refused !== null) throw new NotNowError(`${name}: ${refused}`);
    const down = notRunning(slot.rec, this.get);
    const up = slot.rec.state === "running" || slot.rec.state === "starting";
    if (down.length === 0 || up || slot.rec.config.fleet !== undefined) return slot.dispatch({ type: "start" });
    // A dependency at rest is started (and its own); one starting or in back-off comes by itself. (A
    // oneshot done is never among `down`: it is ready for its dependents, and is not run again.)
    for (const d of down) if (isAtRest(this.mustGet(d).rec.state)) this.start(d);
    slot.dispatch({ type: "wait" });
    this.startIfReady(name);
    const waiting = notRunning(slot.rec, this.get);
    if (slot.rec.state === "pending" && waiting.length > 0) log.info("service waits for its dependencies to be ready", { service: name, waiting_for: waiting.join(",") });
  }

  /** Stops one service (stop signal, grace, SIGKILL); resolves when it holds no process. */
  stop(name: string): Promise<void> {
    return this.stopFor(name, "stop");
  }

  /**
   * Stop, then start; refused before the stop when the start would be (it stopped the service, then
   * refused to start it). The latest request wins: a stop asked while this one was stopping the
   * service leaves it stopped (the restart started a new run and the stop was answered "running"),
   * and of two restarts the later one starts the new run.
   */
  async restart(name: string): Promise<void> {
    if (this.shutdown.ending) throw new NotNowError(`${name}: the machine is shutting down; services are not restarted`);
    const refused = this.startGate?.(name) ?? null;
    if (refused !== null) throw new NotNowError(`${name}: ${refused}`);
    const mine = this.requests.next();
    this.requests.stopping(mine, true);
    try {
      await this.stopFor(name, "restart", mine);
    } finally {
      this.requests.stopping(mine, false);
    }
    const won = this.requests.overriddenBy(name, mine);
    if (won === "stop") throw new NotNowError(`${name}: a stop asked during the restart won; the service stays stopped`);
    if (won === "restart") return; // a later restart starts the new run
    this.start(name);
  }

  /** Dispatches a stop, remembering which request asked last (a restart under way reads it). */
  private stopFor(name: string, kind: StopKind, id = this.requests.next()): Promise<void> {
    const slot = this.mustGet(name);
    const done = slot.settled();
    this.requests.asked(name, kind, id);
    slot.dispatch({ type: "stop" });
    return done;
  }

  /** The process groups of a service's run (RunLeftovers): what the heartbeat's SIGSTOP/SIGCONT throttle signals. */
  processGroups(name: string): readonly number[] {
    return this.slots.get(name)?.leftovers.signalGroups() ?? [];
  }

  private mustGet(name: string): ServiceRunner {
    const s = this.slots.get(name);
    if (!s) throw new Error(`unknown service ${JSON.stringify(name)}`);
    return s;
  }

  /** Stops every service in reverse dependency order (service-shutdown.ts), then closes what they shared. */
  async stopAll(): Promise<void> {
    await this.shutdown.stopAll();
    this.checks.clearAll();
    this.notify?.close();
    this.notify = null;
    this.logs?.close();
    this.cgroups?.removeAll(this.order);
  }

  /** The machine's shutdown began: from now on nothing starts or restarts (service-shutdown.ts). */
  beginShutdown(): void {
    this.shutdown.begin();
  }

  /**
   * Every service in start order. Its cgroup's usage (three file reads each) only `withUsage`: the
   * heartbeat lists the services every beat, and with 200 of them a tick took 20 ms instead of 0.2.
   */
  list(withUsage = false): ServiceStatus[] {
    return this.order.map((n) => statusOf(this.slots.get(n)!.rec, this.cgroups, withUsage));
  }

  /** One service's status (no cgroup usage), or undefined for a name the config does not have: a check every 100 ms built the whole list. */
  status(name: string): ServiceStatus | undefined {
    const slot = this.slots.get(name);
    return slot ? statusOf(slot.rec, this.cgroups, false) : undefined;
  }

  /** State for a live re-exec, at the exec itself (supervisor-handover.ts): the sd_notify socket and the services' pipes stay open across the execve. */
  snapshot(): ServicesPart {
    return { services: snapshotServices(this.handover), notify: this.notify?.handOver() ?? null, atBoottimeMs: clockNs("boottime") / 1e6 };
  }

  /** The exec failed: what snapshot() kept open across it is close-on-exec again (a later child inherited every service's pipes). */
  endHandover(): void {
    this.notify?.endHandover();
    this.logs?.endHandover();
  }

  /**
   * After a re-exec: every service resumes the state it had (supervisor-handover.ts); services new in
   * the config start as usual. The exit of a process that ends during the handoff reaches its service:
   * the reaper routes it here once it runs (it must not have reaped before this call).
   */
  adopt(list: ServiceSnapshot[], gapMs = 0, stopFirst: ReadonlySet<string> = new Set()): void {
    adoptServices(this.handover, list, (name) => this.start(name), gapMs, stopFirst);
    this.startAll();
  }

  /** Recent output lines of a service (after sequence `after`, the last `limit`); null when logs are not kept. */
  logLines(name: string, after?: number, limit?: number) {
    this.mustGet(name);
    return this.logs ? this.logs.read(name, after, limit) : null;
  }

  /** Whether removing the services' cgroup directory at shutdown takes CAP_DAC_OVERRIDE (ServiceCgroups.removalNeedsOverride). */
  get cgroupRemovalNeedsOverride(): boolean {
    return this.cgroups?.removalNeedsOverride ?? false;
  }

  /** Pids of running services (to tell them apart from other descendants). */
  pids(): number[] {
    return [...this.slots.values()].map((s) => s.rec.pid).filter((p): p is number => p !== null);
  }
}
