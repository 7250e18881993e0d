// Admitting an accepted control connection: its role from its credentials, refusal of strangers and of a class over its connection limit.
import { logger } from "../log.ts";
import type { PeerCred } from "../sys/control.ts";
import { admit, type Role } from "./access.ts";
import { Connection } from "./connection.ts";
import type { ResolvedOptions } from "./options.ts";
import type { Peers } from "./peers.ts";
import type { RefusalLog } from "./refusal-log.ts";

const log = logger("control");

/** Root and the init's own uid: they may stop or replace the init, so members can never take their connection slots. */
const privileged = (role: Role): boolean => role === "root" || role === "owner";

/**
 * Open connections of the same class as `role`: root and the owner on one side, members (and
 * refused peers, until their linger ends) on the other. Each class has its own `maxConnections`, so
 * members holding every slot of theirs (idle connections pinged now and then) never lock root out
 * of `poweroff` or `reexec`.
 */
function countOfClass(peers: Peers, role: Role): number {
  let n = 0;
  for (const c of peers.conns.values()) if (privileged(c.cred.role) === privileged(role)) n++;
  return n;
}

/**
 * Registers the accepted connection `fd` with `peers`: the connection to serve, or null when it was
 * refused (it is sent why, and kept for its linger or closed at once, by `peers`).
 */
export function admitConnection(
  a: { fd: number; cred: PeerCred },
  now: number,
  s: { o: ResolvedOptions; peers: Peers; refusals: RefusalLog; counters: { accepted: number; refused: number } },
): Connection | null {
  const access = admit(a.cred, { allowGid: s.o.allowGid });
  // A refused peer gets the lowest role: it is never served, only sent the refusal.
  const c = new Connection(a.fd, { ...a.cred, role: "role" in access ? access.role : "member" }, s.o.maxLineBytes, now);
  s.peers.conns.set(a.fd, c);
  const held = countOfClass(s.peers, c.cred.role);
  // A refusal lingers (LINGER_MS) for its line to be read; at most maxConnections of a class do:
  // a peer connecting as fast as it can had the init hold every one, out of descriptors.
  const atOnce = held > 2 * s.o.maxConnections;
  const refuse = (code: "permission_denied" | "busy", message: string) => (atOnce ? s.peers.failNow(c, null, code, message) : s.peers.fail(c, null, code, message));
  if ("refused" in access) {
    s.counters.refused++;
    s.refusals.note(a.cred, now);
    refuse("permission_denied", access.refused);
    return null;
  }
  if (held > s.o.maxConnections) {
    s.counters.refused++;
    const whose = privileged(c.cred.role) ? "from root or the init's own uid" : "from control group members";
    refuse("busy", `too many control connections (${s.o.maxConnections} ${whose})`);
    return null;
  }
  s.counters.accepted++;
  log.debug("control connection", { uid: a.cred.uid, role: c.cred.role, pid: a.cred.pid, fd: a.fd });
  return c;
}
