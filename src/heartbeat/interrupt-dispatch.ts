// Runs the configured handler of each raised interrupt (log, throttle, restart, stop, relieve_memory, shutdown).
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import type { Attribution, CortexBinding } from "./cortex-adapter.ts";
import { interruptHandlerDefaults, type HeartbeatConfig, type InterruptHandler } from "../config/heartbeat-schema.ts";
import { hwIndexOf, SERVICE_SLOTS } from "../hw/hw-mmio-layout.ts";
import type { InterruptEdge } from "./interrupts.ts";
import type { MetabolicDaemon } from "./metabolic-daemon.ts";
import type { ServiceControl, ServiceView } from "./service-control.ts";
import { sameLimit, ThrottleHolds } from "./throttle-holds.ts";

const log = logger("interrupt");
const svc0 = hwIndexOf("svc.0.running");

/** One interrupt or action, as logged (also kept for stats and tests). */
export interface HeartbeatRecord {
  atMs: number;
  kind: "raised" | "cleared" | "action";
  interrupt: string;
  score?: number;
  action?: string;
  target?: string | null;
  ok?: boolean;
  detail?: string;
  causes?: Attribution[];
}

const defaultHandler: InterruptHandler = interruptHandlerDefaults;

export class InterruptDispatcher {
  readonly records: HeartbeatRecord[] = [];
  actions = 0;
  /** Throttled services and the interrupts holding each (released when the last one cleared and its hold time is over). */
  private readonly holds = new ThrottleHolds();
  private readonly lastAction = new Map<string, number>();
  /**
   * Raised interrupts whose targeted action found no service yet (at the raise the per-service CPU
   * and RSS of the first samples are still 0): tried again every beat while raised, logged once.
   */
  private readonly awaitingTarget = new Set<string>();
  /** Services a stop or restart action is under way on (until its promise settles). */
  private readonly underWay = new Map<string, { action: "stop" | "restart"; interrupt: string }>();
  /** Services a stop action stopped, with its interrupt (forgotten once seen up again): a restart action may start them. */
  private readonly stoppedBy = new Map<string, string>();

  constructor(
    private readonly binding: CortexBinding,
    private readonly config: HeartbeatConfig,
    private readonly metabolic: MetabolicDaemon,
    private readonly services: ServiceControl | null,
    private readonly onShutdown: ((reason: string) => void) | null,
  ) {
    for (const name of Object.keys(config.interrupts)) {
      if (!binding.outputNames.includes(name)) log.warn("handler configured for an interrupt the model does not raise", { interrupt: name, model_interrupts: binding.outputNames.join(",") });
    }
  }

  handler(name: string): InterruptHandler {
    // Own keys only: an interrupt named "toString" has no handler of its own.
    return Object.hasOwn(this.config.interrupts, name) ? this.config.interrupts[name]! : defaultHandler;
  }

  record(r: HeartbeatRecord): void {
    this.records.push(r);
    if (this.records.length > 256) this.records.splice(0, this.records.length - 256);
  }

  /** Handles the edges of one beat. `values` is the hw.mmio vector the scores came from. */
  onEdges(edges: readonly InterruptEdge[], values: Float64Array, list: ServiceView[], nowMs: number): void {
    for (const e of edges) {
      const h = this.handler(e.name);
      const threshold = this.binding.thresholds[e.index]!;
      if (e.kind === "cleared") {
        log.info("interrupt cleared", { interrupt: e.name, score: e.score.toFixed(3), clear_below: (threshold - this.binding.hysteresis[e.index]!).toFixed(3) });
        this.record({ atMs: nowMs, kind: "cleared", interrupt: e.name, score: e.score });
        this.lastAction.delete(e.name);
        this.awaitingTarget.delete(e.name);
        this.holds.cleared(e.name);
        this.releaseDue(nowMs);
        continue;
      }
      const causes = this.binding.attribute(e.index);
      log.warn("interrupt raised", {
        interrupt: e.name,
        score: e.score.toFixed(3),
        threshold: threshold.toFixed(3),
        causes: causes.map((c) => `${c.input}=${+c.value.toPrecision(4)}(+${c.weight.toFixed(3)})`).join(","),
        action: h.action,
      });
      this.record({ atMs: nowMs, kind: "raised", interrupt: e.name, score: e.score, causes, action: h.action });
      this.act(e.name, h, causes, values, list, nowMs);
    }
  }

  /** How long ago the handler of `name` last acted (null: not since it was raised). */
  actedAgoMs(name: string, nowMs: number): number | null {
    const last = this.lastAction.get(name);
    return last === undefined ? null : nowMs - last;
  }

  /** A carried last action (live re-exec): its repeat_ms counts on from it. */
  restoreActed(name: string, agoMs: number, nowMs: number): void {
    this.lastAction.set(name, nowMs - agoMs);
  }

  /** Whether the action of raised `name` found no target yet (it is tried again each beat). */
  isAwaitingTarget(name: string): boolean {
    return this.awaitingTarget.has(name);
  }

  /** A carried wait for a target (live re-exec): the action is tried again from the next beat. */
  restoreAwaitingTarget(name: string): void {
    this.awaitingTarget.add(name);
  }

  /** Drops a throttle the heartbeat already released (the service's process changed). */
  forget(name: string): void {
    this.lost(name);
  }

  /**
   * A throttle that ended while its interrupt stays raised (the service's process changed, or the worker
   * found it gone) is taken again, as for a target not found yet: the service's new process used to run
   * unthrottled for as long as the interrupt stayed raised.
   */
  private lost(name: string): void {
    for (const interrupt of this.holds.drop(name)) this.awaitingTarget.add(interrupt);
  }

  /** Ends the holds that are over; a throttle is released with its last hold, and eased to the strictest limit of those left. */
  private releaseDue(nowMs: number): void {
    for (const r of this.holds.endDue(nowMs)) {
      const interrupt = r.ended.at(-1)!.interrupt;
      const why = r.ended.map((e) => `${e.interrupt} cleared, held ${e.heldMs.toFixed(0)} ms`).join("; ");
      const pid = this.metabolic.throttledPid(r.service);
      if (r.after === null) {
        this.metabolic.unthrottle(r.service);
        this.logAction(nowMs, interrupt, "unthrottle", r.service, true, why);
      } else if (!sameLimit(r.before, r.after) && pid !== null) {
        this.metabolic.throttle(r.service, pid, r.after.duty, r.after.periodMs, this.metabolic.throttledGroups(r.service));
        this.logAction(nowMs, interrupt, "throttle eased", r.service, true, `${why}; pid ${pid} duty ${r.after.duty} of ${r.after.periodMs} ms, the limit of ${r.remaining.join(",")}`);
      } else this.logAction(nowMs, interrupt, "throttle hold ended", r.service, true, `${why}; still held by ${r.remaining.join(",")}`);
    }
  }

  /** Releases throttles whose hold ended; repeats actions of interrupts still raised after repeat_ms. */
  onBeat(active: Uint8Array, values: Float64Array, list: ServiceView[], nowMs: number): void {
    if (this.holds.size > 0) this.releaseDue(nowMs);
    for (const name of this.stoppedBy.keys()) {
      const v = list.find((s) => s.name === name);
      if (!this.underWay.has(name) && (!v || (v.state !== "stopped" && v.state !== "stopping"))) this.stoppedBy.delete(name);
    }
    for (const name of this.holds.services()) if (!this.metabolic.isThrottled(name)) this.lost(name);
    for (let i = 0; i < active.length; i++) {
      if (active[i] !== 1) continue;
      const name = this.binding.outputNames[i]!;
      const h = this.handler(name);
      if (this.awaitingTarget.has(name)) {
        this.act(name, h, this.binding.attribute(i), values, list, nowMs);
        continue;
      }
      const last = this.lastAction.get(name);
      if (h.repeat_ms > 0 && last !== undefined && nowMs - last >= h.repeat_ms) this.act(name, h, this.binding.attribute(i), values, list, nowMs);
    }
  }

  private act(interrupt: string, h: InterruptHandler, causes: Attribution[], values: Float64Array, list: ServiceView[], nowMs: number): void {
    this.lastAction.set(interrupt, nowMs);
    const inputs = causes.map((c) => `${c.input}=${+c.value.toPrecision(4)}`).join(",");
    if (h.action === "log") return;
    if (h.action === "shutdown") {
      this.logAction(nowMs, interrupt, "shutdown", null, this.onShutdown !== null, `inputs ${inputs}`);
      this.onShutdown?.(`interrupt ${interrupt} (${inputs})`);
      return;
    }
    if (h.action === "relieve_memory") {
      this.metabolic.relieveMemory(interrupt);
      this.logAction(nowMs, interrupt, "relieve_memory", null, true, `requested; inputs ${inputs}`);
      return;
    }
    const target = this.resolveTarget(h.target, causes, values, list);
    // A throttle waits out a stop or restart under way (it would throttle the process being stopped).
    // An operator's stop too: the beat's sync released its throttle (service-sync.ts).
    const busy = target && h.action === "throttle" ? this.underWay.get(target.name) : undefined;
    const stopping = h.action === "throttle" && target?.state === "stopping";
    if (!target || (h.action === "throttle" && (target.pid === null || busy || stopping))) {
      // Once per raise; tried again each beat (the action used to be lost: the interrupt stayed
      // raised, a busy service ran on unthrottled, because the first samples had no per-service CPU).
      const why = !target ? `no running service matches target ${h.target}` : busy ? `a ${busy.action} by interrupt ${busy.interrupt} is under way` : stopping ? "the service is being stopped" : "service has no process";
      if (!this.awaitingTarget.has(interrupt)) this.logAction(nowMs, interrupt, h.action, target?.name ?? null, false, `${why}; retried each beat while raised`);
      this.awaitingTarget.add(interrupt);
      return;
    }
    if (this.awaitingTarget.delete(interrupt)) log.info("action target found", { interrupt, action: h.action, service: target.name });
    if (h.action === "throttle" && target.pid !== null) {
      // Each interrupt holds the throttle for itself; with several, the strictest limit applies.
      const others = this.holds.holders(target.name).filter((i) => i !== interrupt);
      const { before, after } = this.holds.hold(target.name, interrupt, { duty: h.duty, periodMs: h.duty_period_ms }, h.hold_ms, nowMs);
      const throttled = before !== null && this.metabolic.isThrottled(target.name);
      if (throttled && sameLimit(before, after)) {
        this.logAction(nowMs, interrupt, "throttle held", target.name, true, `already throttled${others.length > 0 ? ` (held by ${others.join(",")})` : ""}; hold restarts; inputs ${inputs}`);
        return;
      }
      this.metabolic.throttle(target.name, target.pid, after.duty, after.periodMs, this.services?.processGroups?.(target.name) ?? []);
      this.logAction(nowMs, interrupt, throttled ? "throttle tightened" : "throttle", target.name, true, `pid ${target.pid} duty ${after.duty} of ${after.periodMs} ms; inputs ${inputs}`);
      return;
    }
    if (!this.services) return this.logAction(nowMs, interrupt, h.action, target.name, false, "no service control");
    const svc = this.services;
    const name = target.name;
    const action: "restart" | "stop" = h.action === "restart" ? "restart" : "stop"; // a throttle was handled above
    const refused = action === "restart" ? this.restartRefusal(target) : null;
    if (refused !== null) return this.logAction(nowMs, interrupt, "restart skipped", name, false, refused);
    // Stop and restart wait for the process; a beat never does: the outcome is logged when it settles.
    // Another interrupt's throttle of the service ends with its process and, while that interrupt
    // stays raised, is taken again (on the new process): it was dropped for good.
    this.lost(name);
    this.metabolic.unthrottle(name);
    const token = { action, interrupt };
    this.underWay.set(name, token);
    if (action === "stop") this.stoppedBy.set(name, interrupt);
    const settled = () => this.underWay.get(name) === token && this.underWay.delete(name);
    Promise.resolve()
      .then(() => (action === "restart" ? svc.restart(name) : svc.stop(name)))
      .then(
        () => (settled(), this.logAction(performance.now(), interrupt, `${action} done`, name, true, "")),
        (err) => (settled(), this.logAction(performance.now(), interrupt, `${action} failed`, name, false, describeError(err))),
      );
    this.logAction(nowMs, interrupt, action, name, true, `pid ${target.pid}; inputs ${inputs}`);
  }

  /**
   * Why a restart action leaves service `s` alone (null: it restarts it). One an operator stopped by
   * hand (`vector-boot stop`) was started again by the interrupt: the operator's stop wins. One a stop
   * action stopped is restarted, as before; a second restart while one is under way would change nothing.
   */
  private restartRefusal(s: ServiceView): string | null {
    const w = this.underWay.get(s.name);
    if (w?.action === "restart") return `a restart by interrupt ${w.interrupt} is under way`;
    if (w || this.stoppedBy.has(s.name)) return null;
    if (s.state === "stopped" || s.state === "stopping") return `${s.state === "stopped" ? "stopped" : "being stopped"} by an operator: an interrupt does not start it again (start it by hand)`;
    return null;
  }

  private resolveTarget(target: string, causes: Attribution[], values: Float64Array, list: ServiceView[]): ServiceView | null {
    const slots = list.slice(0, SERVICE_SLOTS);
    // Only a service that uses some: with every slot at 0 (the first samples) the first running
    // service in config order won the tie, and an idle one was throttled or restarted. Any service
    // whose process runs counts, "starting" too (not ready yet, or a oneshot at work): a oneshot
    // spinning the CPU was passed over and the next busiest service throttled instead.
    const top = (field: number) => {
      let best: ServiceView | null = null;
      let bestV = 0;
      slots.forEach((s, i) => {
        const v = values[svc0 + i * 5 + field]!;
        if ((s.state === "running" || s.state === "starting") && s.pid !== null && v > bestV) {
          best = s;
          bestV = v;
        }
      });
      return best;
    };
    if (target === "top_cpu") return top(3);
    if (target === "top_rss") return top(2);
    if (target !== "cause") return list.find((s) => s.name === target) ?? null;
    // Only inputs that raised the score: an input with no weight in it still filled the top three
    // (a zero contribution), and the first svc.N among them named a service that had done nothing.
    const raising = causes.filter((c) => c.weight > 0);
    for (const c of raising) {
      const m = /^svc\.(\d+)\./.exec(c.input);
      if (m && slots[Number(m[1])]) return slots[Number(m[1])]!;
    }
    // A failed service is the cause of services.failed: restarting the busiest running one instead
    // (the fallback below) killed a healthy service and left the failed one down.
    if (raising.some((c) => c.input === "services.failed")) return list.find((s) => s.state === "failed") ?? null;
    const memory = raising.some((c) => /^(mem\.|swap\.|psi\.memory|services\.rss)/.test(c.input));
    return memory ? top(2) : top(3);
  }

  logAction(atMs: number, interrupt: string, action: string, target: string | null, ok: boolean, detail: string): void {
    this.actions++;
    (ok ? log.info : log.warn)("action", { interrupt, action, service: target, ok, detail });
    this.record({ atMs, kind: "action", interrupt, action, target, ok, detail });
  }
}
