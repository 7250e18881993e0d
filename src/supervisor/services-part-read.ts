// The services part of a live re-exec's handoff, read service by service: an entry that does not parse costs that service what could not be read, never every service its running process.
import { logger } from "../log.ts";
import { issuesText } from "../util/issues-text.ts";
import { lazy } from "../util/lazy.ts";
import { handedFd, z } from "../util/zod-mini.ts";
import type { NotifyPart } from "./notify-socket.ts";
import { salvageSnapshot } from "./service-salvage.ts";
import { handedNotifyOf, serviceSnapshotSchema, type ServiceSnapshot } from "./service-snapshot.ts";

const log = logger("supervisor");

/** What was read of the services part. */
export interface ServicesHandoff {
  services: ServiceSnapshot[];
  /** Services whose state or main process could not be read: what is found of their run is stopped first (service-salvage.ts). */
  stopFirst: Set<string>;
  notify: NotifyPart | null;
  /** CLOCK_BOOTTIME (ms) when it was taken (handoff 9), else null. */
  atBoottimeMs: number | null;
}

/** The part's frame, its services unread (servicesPartSchema with each service as it comes). */
const frameSchema = lazy(() =>
  z.union([
    z.strictObject({
      services: z.array(z.unknown()),
      notify: z.nullable(z.strictObject({ fd: handedFd(), address: z.string().check(z.minLength(1)) })),
      atBoottimeMs: z.optional(z.number().check(z.minimum(0))),
    }),
    z.array(z.unknown()),
  ]),
);

/**
 * Reads `raw` (servicesPartSchema): each service on its own. One that does not parse is rebuilt
 * from the fields that do (salvageSnapshot; `graceOf` its grace): a single service over a bound (a
 * `killedFor` over 4096 characters, 65 output pipes) made the whole part unreadable, and every
 * service was started again beside its running process. Null when the frame itself is unreadable
 * (its sd_notify socket is still returned, to be closed).
 */
export function readServicesPart(raw: unknown, graceOf: (name: string) => number): ServicesHandoff | { unreadable: string; notify: NotifyPart | null } {
  const frame = frameSchema().safeParse(raw);
  if (!frame.success) return { unreadable: issuesText(frame.error.issues), notify: handedNotifyOf(raw) };
  const entries = Array.isArray(frame.data) ? frame.data : frame.data.services;
  const out: ServicesHandoff = { services: [], stopFirst: new Set(), notify: Array.isArray(frame.data) ? null : frame.data.notify, atBoottimeMs: Array.isArray(frame.data) ? null : (frame.data.atBoottimeMs ?? null) };
  for (const [i, e] of entries.entries()) {
    const r = serviceSnapshotSchema().safeParse(e);
    if (r.success) {
      out.services.push(r.data);
      continue;
    }
    const name = typeof e === "object" && e !== null && "name" in e && typeof e.name === "string" ? e.name : null;
    const s = salvageSnapshot(e, name === null ? 0 : graceOf(name));
    if (!s) {
      log.error("a service's state from before the re-exec is unreadable, its name too; its processes are left to the reaper", { index: i, error: issuesText(r.error.issues) });
      continue;
    }
    out.services.push(s.snapshot);
    if (s.stopFirst) out.stopFirst.add(s.snapshot.name);
    log.error(
      s.stopFirst ? "service's state from before the re-exec is unreadable; stopping what is left of its run, then starting it" : "service's state from before the re-exec is partly unreadable; kept, with defaults for the rest",
      { service: s.snapshot.name, unreadable: s.unreadable.join(","), error: issuesText(r.error.issues) },
    );
  }
  return out;
}
