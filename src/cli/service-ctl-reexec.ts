// `start`/`stop`/`restart NAME` followed to their outcome: across a live re-exec (the new image finishes what the old one had begun), and past a --timeout that ran out while the service stops.
import { z } from "zod";
import { ControlClient, controlSocketPath } from "../control/client.ts";
import { NotNowError, SysError } from "../errors.ts";
import { isAtRest } from "../supervisor/service-record.ts";

/** How long the new image may take to answer again (a live re-exec takes well under a second), as `logs -f` waits. */
const REEXEC_WAIT_MS = 30_000;
/** How often the service's state is asked while the new image finishes a stop. */
const POLL_MS = 100;
/**
 * The least time one request to the new image is given, even at the end of the wait: a last poll
 * sent with the few milliseconds left timed out on a loaded machine and exited 71, though the
 * service was still stopping (75).
 */
const ANSWER_FLOOR_MS = 5_000;

/** The timeout of one request sent before `deadline`: what is left of the wait, at least ANSWER_FLOOR_MS. */
const answerMs = (deadline: number) => Math.max(ANSWER_FLOOR_MS, deadline - performance.now());

const statusSchema = z.object({ generation: z.number().int().min(0).optional() }).loose();
const entrySchema = z.object({ name: z.string(), state: z.string(), pid: z.number().nullable().optional(), lastStatus: z.number().nullable().optional(), restarts: z.number().optional() }).loose();
type Entry = z.infer<typeof entrySchema>;

/**
 * Sends `start`, `stop` or `restart` of `name` and returns the server's answer. The connection
 * dropping unanswered because the instance re-exec'd live (its generation went up) is followed
 * through: the new image carries on with a stop (a restart's start included, handed over), and the
 * service is watched there until it is no longer stopping. The request is asked again only when
 * the service is still as it was before it (its process the one from before, or a start's service
 * at rest as it was: the old image had not read it): asking a stop again undid a start asked after
 * the re-exec. It exited 71 ("it was sent, so the instance may still carry it out") although the new
 * image carried it out, or could be asked again.
 */
export async function serviceRequest(action: "start" | "stop" | "restart", name: string, socketGiven: string | undefined, timeoutMs: number): Promise<unknown> {
  const socket = controlSocketPath(socketGiven);
  const c = await ControlClient.connect(socket, Math.min(timeoutMs, 5_000));
  let generation: number | undefined;
  let before: Entry | null | undefined;
  let lost: SysError;
  try {
    generation = statusSchema.parse(await c.request({ op: "status" }, timeoutMs)).generation ?? 0;
    before = entryIn(await c.request({ op: "services" }, timeoutMs), name) ?? null;
    return await c.request({ op: action, name }, timeoutMs);
  } catch (e) {
    if (action !== "start" && e instanceof SysError && e.syscall === "control request" && e.errno === "ETIMEDOUT" && before !== undefined) return await afterTimeout(action, name, socket, timeoutMs, e);
    // Only a connection gone unanswered may be a re-exec; an answer (an error included) is the
    // outcome, and a timeout (the instance did not answer in time) is one too.
    if (!(e instanceof SysError && e.syscall === "control request" && e.errno !== "ETIMEDOUT") || generation === undefined) throw e;
    lost = e;
  } finally {
    c.close();
  }
  const deadline = performance.now() + Math.max(timeoutMs, REEXEC_WAIT_MS);
  const next = await newImage(socket, generation, deadline, lost);
  try {
    // The new image's control socket may answer before it has adopted the services.
    const entry = (await until(next, name, deadline, (e) => e !== undefined && e.state !== "stopping"))!;
    const again = () => next.request({ op: action, name }, answerMs(deadline));
    if (action === "start") return isAtRest(entry.state) ? await startAtRest(name, before ?? undefined, entry, again) : entry;
    const pidBefore = before?.pid ?? null;
    if (pidBefore !== null && entry.pid === pidBefore) return await again();
    if (action === "stop" && !isAtRest(entry.state)) throw new NotNowError(`${name}: after the live re-exec the service is ${entry.state} again: the stop was carried out, then a start asked meanwhile won`);
    if (action === "restart" && entry.state === "stopped") throw new NotNowError(`${name}: after the live re-exec the service is stopped: the restart's start was not carried out (a stop asked meanwhile won, or the machine is shutting down)`);
    return entry;
  } finally {
    next.close();
  }
}

/**
 * A start whose service the new image lists at rest: as it was before the start (state, last
 * status, restarts), the old image had not read it and it is asked again there; stopped since, a
 * stop asked meanwhile won (75); exited, failed or done since, it was started and its run ended.
 */
async function startAtRest(name: string, before: Entry | undefined, entry: Entry, again: () => Promise<unknown>): Promise<unknown> {
  const unchanged = before !== undefined && before.state === entry.state && before.lastStatus === entry.lastStatus && before.restarts === entry.restarts;
  if (unchanged) return await again();
  if (entry.state === "stopped") throw new NotNowError(`${name}: after the live re-exec the service is stopped: the start was carried out, then a stop asked meanwhile won`);
  return entry;
}

/**
 * The stop or restart was not answered within --timeout: the service is asked about on a new
 * connection. Still stopping (a long grace, a process that ignores its stop signal): the stop goes
 * on, try again later (75; it exited 71, the ETIMEDOUT of an OS error). A stop found done since: its
 * entry. Anything else, or no answer: the timeout (71, the instance may still carry it out).
 */
async function afterTimeout(action: "stop" | "restart", name: string, socket: string, timeoutMs: number, timedOut: SysError): Promise<Entry> {
  const waitMs = Math.min(timeoutMs, 5_000);
  let entry: Entry | undefined;
  try {
    const c = await ControlClient.connect(socket, waitMs);
    try {
      entry = entryIn(await c.request({ op: "services" }, waitMs), name);
    } finally {
      c.close();
    }
  } catch {
    throw timedOut;
  }
  if (entry?.state === "stopping") throw new NotNowError(`${name}: still stopping after ${timeoutMs} ms (its stop signal was sent; the grace period, then SIGKILL, ends it): the ${action} goes on; wait with a longer --timeout, or ask again later`);
  if (action === "stop" && entry !== undefined && isAtRest(entry.state)) return entry;
  throw timedOut;
}

/** The service's entry in a `services` answer. */
function entryIn(list: unknown, name: string): Entry | undefined {
  const p = z.array(entrySchema).safeParse(list);
  return p.success ? p.data.find((e) => e.name === name) : undefined;
}

/** A connection to the image after the one that had `generation`; none: the drop was no re-exec (`lost` is the answer). */
async function newImage(socket: string, generation: number, deadline: number, lost: SysError): Promise<ControlClient> {
  while (performance.now() < deadline) {
    let c: ControlClient | null = null;
    try {
      c = await ControlClient.connect(socket, 5_000);
      const s = statusSchema.parse(await c.request({ op: "status" }, answerMs(deadline)));
      if ((s.generation ?? 0) > generation) return c;
      c.close();
      throw lost;
    } catch (e) {
      if (e === lost) throw e;
      c?.close();
      await Bun.sleep(50);
    }
  }
  throw lost;
}

/** Asks `services` until the entry of `name` passes `ok` (or the deadline: the request's outcome is not known). */
async function until(c: ControlClient, name: string, deadline: number, ok: (e: Entry | undefined) => boolean): Promise<Entry | undefined> {
  for (;;) {
    const e = entryIn(await c.request({ op: "services" }, answerMs(deadline)), name);
    if (ok(e)) return e;
    // Still stopping: the stop goes on there (not now, 75), as when --timeout runs out without a re-exec.
    if (performance.now() + POLL_MS > deadline && e?.state === "stopping") throw new NotNowError(`${name}: the instance re-exec'd live and the service was still stopping at the end of the wait: the stop goes on there; ask again later`);
    if (performance.now() + POLL_MS > deadline) throw new SysError("control request", "ETIMEDOUT", 110, `${c.path}: the instance re-exec'd live and ${name} was still ${e?.state ?? "not listed"} at the end of the wait; it may still carry the request out`);
    await Bun.sleep(POLL_MS);
  }
}
