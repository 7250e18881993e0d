// A service's re-exec snapshot that does not parse as a whole: what can be read of it, field by field, so its running process is kept or stopped, never started again beside.
import { cutText } from "../util/cut-text.ts";
import { hookSchema, KILLED_FOR_MAX, leftoverSchema, logFdSchema, serviceSnapshotSchema, type ServiceSnapshot } from "./service-snapshot.ts";

/** A snapshot rebuilt from the readable fields of one that did not parse. */
export interface Salvaged {
  snapshot: ServiceSnapshot;
  /** The fields that could not be read (their defaults were taken), and keys it should not have. */
  unreadable: string[];
  /**
   * Its state or main process could not be read: it is taken as stopping (with the stop asked for
   * here: the caller sends the stop signal to what is found of its run), then started again unless
   * it had been stopped on purpose.
   */
  stopFirst: boolean;
}

type Raw = Record<string, unknown>;

/** Each element of `v` that parses (an array with one bad element, or too many, keeps the rest: pipes left unread block their writers). */
function elements<T>(v: unknown, parse: (e: unknown) => { success: true; data: T } | { success: false }): T[] {
  if (!Array.isArray(v)) return [];
  const out: T[] = [];
  for (const e of v) {
    const r = parse(e);
    if (r.success) out.push(r.data);
  }
  return out;
}

const text = (v: unknown, max: number): string | null => (typeof v === "string" ? cutText(v, max) : null);

/**
 * Rebuilds the snapshot of one service from `raw` when the whole does not parse (an image before
 * this one wrote a `killedFor` over its bound, or more pipes than it: the whole services part was
 * dropped and every service started again beside its running process). Null when not even its name
 * can be read. `graceMs`: the service's grace, for a stop whose time left is unknown.
 */
export function salvageSnapshot(raw: unknown, graceMs: number): Salvaged | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const o = raw as Raw;
  const shape = serviceSnapshotSchema().shape;
  const unreadable: string[] = Object.keys(o).filter((k) => !(k in shape));
  const field = <K extends keyof ServiceSnapshot>(k: K, fallback: () => ServiceSnapshot[K]): ServiceSnapshot[K] => {
    const r = shape[k].safeParse(o[k]);
    if (r.success) return r.data as ServiceSnapshot[K];
    unreadable.push(k);
    return fallback();
  };
  const name = field("name", () => "");
  if (unreadable.includes("name")) return null;
  const state = field("state", () => "stopping");
  const pid = field("pid", () => null);
  const stopFirst = unreadable.includes("state") || unreadable.includes("pid");
  const killedFor = field("killedFor", () => text(o.killedFor, KILLED_FOR_MAX));
  const stopRequested = field("stopRequested", () => state === "stopping");
  const being = state === "stopping" || killedFor !== null;
  const snapshot: ServiceSnapshot = {
    name,
    state,
    pid,
    restarts: field("restarts", () => 0),
    failures: field("failures", () => 0),
    restartAgesMs: field("restartAgesMs", () => []),
    runningForMs: field("runningForMs", () => 0),
    readyForMs: field("readyForMs", () => null),
    lastStatus: field("lastStatus", () => null),
    stopRequested,
    // A stop's or a check kill's grace that cannot be read is given whole; a back-off's ends now.
    timerLeftMs: field("timerLeftMs", () => (being ? graceMs : state === "backoff" ? 0 : null)),
    // Unreadable: a grace (the stop signal ignored through it gets SIGKILL, at worst a second one).
    sigkilled: field("sigkilled", () => false),
    statusText: field("statusText", () => text(o.statusText, 4096)),
    healthChecks: field("healthChecks", () => 0),
    healthFailures: field("healthFailures", () => 0),
    killedFor,
    logFds: field("logFds", () => elements(o.logFds, (e) => logFdSchema().safeParse(e))),
    logNextSeq: field("logNextSeq", () => 1),
    logTail: field("logTail", () => []),
    restartPending: field("restartPending", () => false),
    readyLeftMs: field("readyLeftMs", () => null),
    leftovers: field("leftovers", () => elements(o.leftovers, (e) => leftoverSchema().safeParse(e))),
    hooks: field("hooks", () => elements(o.hooks, (e) => hookSchema().safeParse(e))),
    signalledForMs: field("signalledForMs", () => null),
  };
  if (stopFirst) {
    // Whether it holds a process, and which, is unknown: what is found of its run (its cgroup, its
    // process groups, the pid if readable) is stopped, and it starts again once that is over, unless
    // it had been stopped on purpose (a restart pending, or nothing said, starts it again).
    const stoppedOnPurpose = o.stopRequested === true && o.restartPending !== true;
    Object.assign(snapshot, { state: "stopping", stopRequested: true, restartPending: !stoppedOnPurpose, timerLeftMs: graceMs, sigkilled: false, killedFor: null, readyLeftMs: null });
  }
  return { snapshot, unreadable, stopFirst };
}
