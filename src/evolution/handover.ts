// The evolution part of a live re-exec handoff: the channel memfd, the session socket and the open sessions, as inherited fds.
import { issuesText } from "../util/issues-text.ts";
import { lazy } from "../util/lazy.ts";
import { handedFd, intIn, z } from "../util/zod-mini.ts";
import { fdTarget } from "../util/fd-target.ts";
import { logger } from "../log.ts";
import { JournalError } from "../errors.ts";
import { closeHandedLock } from "../journal/state-lock-handover.ts";
import { acceptedMismatch, listenerMismatch } from "../sys/control.ts";
import { closeFd } from "../sys/fd.ts";
import { fdSize, getSeals, mapShared, Seal, type SharedMapping } from "../sys/evolution.ts";
import { type Geometry, H, HEADER_SIZE, regionSize, writeHeader } from "./layout.ts";

const log = logger("evolution");

const u32 = () => intIn(0, 0xffff_ffff);

/** One open producer session: its connected socket and the consumer's private counters of its ring. */
export const handedSessionSchema = lazy(() =>
  z.strictObject({
    ring: intIn(0, 63),
    fd: handedFd(),
    /** The ring's session generation (also in the ring's control block): carried, never bumped. */
    generation: u32(),
    /** Submissions taken (the next one is read at `head`). */
    head: u32(),
    /** Completions posted. */
    cmpTail: u32(),
    /** The sequence the next submission must carry (decimal: it is a u64). */
    expectedSeq: z.string().check(z.regex(/^\d{1,20}$/)),
  }),
);
export type HandedSession = z.infer<ReturnType<typeof handedSessionSchema>>;

/**
 * Version 1 of the part. Written only after the channel is quiescent: no submission is in flight
 * (every one taken has its completion posted), so the next image owes nothing for the past.
 */
export const evolutionPartSchema = lazy(() =>
  z
    .strictObject({
      version: z.literal(1),
      memfd: handedFd(),
      size: z.int().check(z.minimum(1)),
      rings: intIn(1, 64),
      slots: intIn(2, 4096),
      /** Generation of every ring, active or not (a ring reused later still gets a new generation). */
      generations: z.array(u32()).check(z.maxLength(64)),
      listener: handedFd(),
      path: z.string().check(z.minLength(1)),
      sessions: z.array(handedSessionSchema()).check(z.maxLength(64)),
    })
    .check(
      z.refine((p) => p.generations.length === p.rings, "one generation per ring"),
      z.refine((p) => new Set(p.sessions.map((s) => s.ring)).size === p.sessions.length, "one session per ring"),
      z.refine((p) => p.sessions.every((s) => s.ring < p.rings), "session ring outside the geometry"),
    ),
);
export type EvolutionPart = z.infer<ReturnType<typeof evolutionPartSchema>>;

/**
 * The part and its `stateLock` (handoff 12: the state directory's lock descriptors, kept open across
 * the execve), read apart: the lock is taken (adopted, or the directory locked anew) whatever becomes
 * of the channel and the sessions.
 */
export function splitStateLock(inherited: unknown): { part: unknown; stateLock: unknown } {
  if (typeof inherited !== "object" || inherited === null || !("stateLock" in inherited)) return { part: inherited, stateLock: undefined };
  const { stateLock, ...part } = inherited as Record<string, unknown>;
  return { part, stateLock };
}

export const isChannelMemfd = (n: number): boolean => fdTarget(n).startsWith("/memfd:vector-boot-evolution");

/** Maps the channel memfd the previous image created, once it is proven to be that channel with geometry `g`. */
export function mapInheritedChannel(fd: number, g: Geometry): SharedMapping {
  const size = regionSize(g);
  const sealed = Seal.shrink | Seal.grow | Seal.seal;
  if (!isChannelMemfd(fd) || fdSize(fd) !== size || (getSeals(fd) & sealed) !== sealed) {
    throw new JournalError(`inherited fd ${fd} is not an evolution channel of ${size} bytes, sealed`);
  }
  const map = mapShared(fd, size);
  const want = new Uint8Array(HEADER_SIZE);
  writeHeader(want, g, process.pid);
  // The geometry fields only: the pid and checksum are a producer's to scribble on (the region is
  // mapped writable to every one), and that made every session be dropped at the re-exec with this
  // error. The header is written again as this image has it.
  const have = new Uint8Array(map.buffer, 0, H.consumerPid);
  if (!have.every((b, i) => b === want[i])) {
    map.unmap();
    throw new JournalError("inherited channel header differs from this image's geometry");
  }
  new Uint8Array(map.buffer, 0, HEADER_SIZE).set(want);
  return map;
}

/**
 * Whether `n` is what a part names as its session listener: a listening Unix stream socket bound to
 * `path` (its socket file may be gone), as refuseHandedListener proves it before adopting it.
 */
const isPartListener = (n: number, path: string): boolean => {
  const m = listenerMismatch(n, path);
  return m === null || m === "ENOENT";
};
/** Whether `n` is a producer session: a connection accepted on the listener bound to `path` (acceptedMismatch, as adoptSessions proves it). */
const isSessionSocket = (n: number, path: string | undefined): boolean => path !== undefined && acceptedMismatch(n, path) === null;

/**
 * The new image does not adopt the part (unreadable, another geometry, evolution off, the phase
 * failed): closes every fd it names, read leniently (a part that fails its schema may still name
 * fds), so each producer sees its session end and the reconnect path applies. Never throws.
 * Only what is proven to be that object is closed: the channel memfd, the listening socket bound to
 * the part's path, connections accepted on that path. Any socket at those numbers was closed before: when
 * the listener's number was the control socket's listener (which the evolution session server had
 * refused and left alone), a failed evolution open closed it, and the connections queued at the
 * control socket during the re-exec were dropped.
 */
export function releaseInherited(part: unknown, why: string): void {
  if (part === undefined || part === null) return;
  // The state directory's lock handed over (handoff 12): this image does not open the journal, so it lets the directory go.
  const { stateLock } = splitStateLock(part);
  if (stateLock !== undefined) closeHandedLock(stateLock);
  const loose = z
    .looseObject({ memfd: z.optional(handedFd()), listener: z.optional(handedFd()), path: z.optional(z.string()), sessions: z.optional(z.array(z.looseObject({ fd: handedFd() }))) })
    .safeParse(part);
  const d = loose.success ? loose.data : {};
  // Never an fd this image opened itself, nor one inherited for another part.
  const fds = [
    ...(d.memfd !== undefined && isChannelMemfd(d.memfd) ? [d.memfd] : []),
    ...(d.listener !== undefined && d.path !== undefined && isPartListener(d.listener, d.path) ? [d.listener] : []),
    ...(d.sessions ?? []).map((s) => s.fd).filter((x) => x !== d.listener && isSessionSocket(x, d.path)),
  ];
  for (const f of new Set(fds)) {
    try {
      closeFd(f);
    } catch {
      // already closed (EBADF): nothing to release
    }
  }
  log.warn("inherited producer sessions not adopted: closed (producers reconnect)", { why, fds: fds.length });
}

/** Reads the inherited part: valid and of this geometry, else released (null). */
export function adoptable(inherited: unknown, cfg: { rings: number; slots: number }): EvolutionPart | null {
  if (inherited === undefined) return null;
  const r = evolutionPartSchema().safeParse(inherited);
  if (!r.success) {
    releaseInherited(inherited, `unreadable part: ${issuesText(r.error.issues)}`);
    return null;
  }
  if (r.data.rings !== cfg.rings || r.data.slots !== cfg.slots) {
    releaseInherited(inherited, `geometry changed (${r.data.rings}x${r.data.slots} -> ${cfg.rings}x${cfg.slots})`);
    return null;
  }
  return r.data;
}
