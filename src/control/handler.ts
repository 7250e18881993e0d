// Turns one request line into one response: JSON parse, zod validation, then the target's method.
import { ConfigError, describeError, InputError, NotNowError, PackageError } from "../errors.ts";
import { logger } from "../log.ts";
import { isAtRest } from "../supervisor/service-record.ts";
import { forbidden, ForbiddenError, type RequestCaller as Caller } from "./access.ts";
import { CONTROL_PROTOCOL_VERSION, errorResponse, requestSchema, salvageId, type ControlRequest, type ControlResponse } from "./protocol.ts";
import type { ControlTarget, ServiceStatus } from "./target.ts";

const log = logger("control");

/** Parses and validates one line (without its newline). */
export function parseRequest(line: string): ControlRequest | ControlResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return errorResponse(null, "parse_error", `not JSON: ${(e as Error).message}`);
  }
  const r = requestSchema().safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return errorResponse(salvageId(raw), "invalid_request", `${where}${issue?.message ?? "invalid request"}`);
}

export interface Handled {
  response: ControlResponse;
  /** Runs once the response is queued on the socket (poweroff and reboot act only then). */
  afterReply?: () => void;
  /** The operation answered (a request that did not parse has none). */
  op?: string;
}

/** Runs one line against the target; never throws. */
export async function handleLine(line: string, target: ControlTarget, caller: Caller): Promise<Handled> {
  const req = parseRequest(line);
  if ("ok" in req) return { response: req };
  const id = req.id ?? null;
  // The role comes from the connect-time credentials (access.ts); the connection stays open.
  const no = forbidden(req.op, caller);
  if (no !== null) {
    log.warn("control request refused", { op: req.op, uid: caller.uid, role: caller.role, pid: caller.pid });
    return { response: errorResponse(id, "permission_denied", no) };
  }
  try {
    if (req.op === "poweroff" || req.op === "reboot") {
      const mode = req.op;
      // A shutdown already under way is not changed: a reboot asked during a poweroff's shutdown
      // was answered "reboot requested" and the machine powered off.
      // (A target that does not report its shutdown, a test's stub, takes every request.)
      const under = target.shutdownUnderway ? (target.shutdownUnderway() ?? claimed.get(target) ?? null) : null;
      if (under !== null) {
        if (under.mode === mode) return { response: { id, ok: true, result: { mode, already: true } }, op: mode };
        return { response: errorResponse(id, "busy", `the machine is already shutting down (${under.mode}: ${under.reason}); it does not ${mode}`) };
      }
      // Claimed now: the target hears of it only after the reply, and a request read in the same turn would not see it.
      claimed.set(target, { reason: `control socket: ${mode}`, mode });
      log.info(`${mode} requested over the control socket`, { uid: caller.uid, pid: caller.pid });
      return { response: { id, ok: true, result: { mode } }, afterReply: () => target.shutdown(mode) };
    }
    const result = await perform(req, target, caller);
    if (result === NOT_SUPPORTED) {
      const why = target.unsupported?.[req.op];
      return { response: errorResponse(id, "not_supported", `"${req.op}" is not supported by this instance${why ? `: ${why}` : ""}`) };
    }
    if (result instanceof UnknownService) return { response: errorResponse(id, "unknown_service", `no service named ${JSON.stringify(result.name)}`) };
    return { response: { id, ok: true, result: result === undefined ? null : result }, op: req.op };
  } catch (e) {
    const invalid = e instanceof InputError || e instanceof ConfigError;
    log.warn("request failed", { op: req.op, uid: caller.uid, pid: caller.pid, error: describeError(e) });
    // refused: what the request names was checked and is not acceptable (a re-exec image the preflight refuses).
    const code = e instanceof ForbiddenError ? "permission_denied" : invalid ? "invalid_request" : e instanceof NotNowError ? "busy" : e instanceof PackageError ? "refused" : "failed";
    return { response: errorResponse(id, code, describeError(e)) };
  }
}

const NOT_SUPPORTED = Symbol("not supported");

/** The poweroff or reboot each target was asked for over the socket (answered, its shutdown call maybe still to come). */
const claimed = new WeakMap<ControlTarget, { reason: string; mode: string }>();

/** `startedAt` is this process's clock: add how long each running service has run, which a client can use. */
function withRunTimes(list: ServiceStatus[]): Array<ServiceStatus & { runningMs: number | null }> {
  const now = performance.now();
  return list.map((s) => ({ ...s, runningMs: (s.state === "running" || s.state === "starting") && s.pid !== null ? Math.max(0, Math.round(now - s.startedAt)) : null }));
}
class UnknownService {
  constructor(readonly name: string) {}
}

async function perform(req: ControlRequest, t: ControlTarget, caller: Caller): Promise<unknown> {
  // Without the cgroup usage: `logs -f` asks every 200 ms, and with 600 services each answer read 1,800 files.
  const find = (name: string) => t.services(false).find((s) => s.name === name);
  switch (req.op) {
    case "ping":
      return { pong: true, protocol: CONTROL_PROTOCOL_VERSION, pid: process.pid };
    case "status":
      return await t.status();
    case "services":
      return withRunTimes(t.services());
    case "start":
    case "stop":
    case "restart": {
      const before = find(req.name);
      if (!before) return new UnknownService(req.name);
      log.info(`${req.op} requested`, { service: req.name, uid: caller.uid, pid: caller.pid });
      // A start of a service that runs already changes nothing, and says so (`already`); so does a
      // stop of one that holds no process (stopped, exited, failed, done: it stays as it was).
      const already = req.op === "start" ? before.state === "running" || before.state === "starting" : req.op === "stop" && isAtRest(before.state);
      if (req.op === "start") await t.startService(req.name);
      else if (req.op === "stop") await t.stopService(req.name);
      else await t.restartService(req.name);
      const after = withRunTimes(t.services()).find((s) => s.name === req.name) ?? null;
      return after && already ? { ...after, already: true } : after;
    }
    case "logs":
      if (!find(req.name)) return new UnknownService(req.name);
      return t.serviceLogs ? (t.serviceLogs(req.name, req.after, req.limit) ?? NOT_SUPPORTED) : NOT_SUPPORTED;
    case "stats":
      return await t.stats();
    case "pixels":
      return t.executePixels ? await t.executePixels(req.pixels) : NOT_SUPPORTED;
    case "mutate":
      return t.submitMutation ? await t.submitMutation({ tensor: req.tensor, offset: req.offset, values: req.values, confidence: req.confidence }) : NOT_SUPPORTED;
    case "checkpoint":
      return t.checkpoint ? await t.checkpoint() : NOT_SUPPORTED;
    case "poweroff":
    case "reboot":
      return { mode: req.op }; // handled in handleLine (the shutdown starts after the reply)
    case "reexec":
      if (!t.reexec) return NOT_SUPPORTED;
      log.info("re-exec requested over the control socket", { path: req.path, uid: caller.uid, pid: caller.pid });
      return await t.reexec(req.path);
  }
}
