// Who may use the control socket, and for which requests: decided from the peer's connect-time
// credentials (SO_PEERCRED uid/gid, SO_PEERGROUPS supplementary groups) only, never from the
// request and never from /proc afterwards (the pid may have exited and been reused, or lie outside
// our PID namespace; its groups may have changed since it connected).
import { ExitCode, VectorBootError } from "../errors.ts";
import type { PeerCred } from "../sys/control.ts";
import type { ControlOp } from "./protocol.ts";

export interface AccessPolicy {
  /** Members of this group (effective or supplementary gid at connect time) may connect too; null: root only. */
  allowGid: number | null;
}

/**
 * What an admitted peer is:
 * - `root`: uid 0, every request;
 * - `owner`: the init's own uid when the init does not run as root (a development instance; that
 *   uid can signal and ptrace the init anyway): every request except `reexec`;
 * - `member`: a member of `control_gid`: the read-only requests of `accessTable`.
 */
export type Role = "root" | "owner" | "member";

/** The least role each request needs (documented in docs/control-protocol.md; keep both in sync). */
export const accessTable: Readonly<Record<ControlOp, Role>> = {
  // Read-only: they report, they change no service, no weight, no file.
  ping: "member",
  status: "member",
  services: "member",
  // Service output, as `services` shows their state (a group member reads what the console shows).
  logs: "member",
  stats: "member",
  // Runs the pixel head on the caller's input (bounded by the schema: at most 4,096 pixels);
  // the weights are only read. It updates the runtime's execution counters, nothing else.
  pixels: "member",
  // Change services, weights, state files or the machine.
  start: "owner",
  stop: "owner",
  restart: "owner",
  mutate: "owner",
  checkpoint: "owner",
  poweroff: "owner",
  reboot: "owner",
  // Replaces PID 1 with another program: uid 0 only, whoever the init runs as.
  reexec: "root",
};

const rank: Record<Role, number> = { member: 0, owner: 1, root: 2 };

/** A peer that connected, with the role its connect-time credentials give it. */
export interface Caller extends PeerCred {
  role: Role;
}

/** The peer's gid and supplementary groups include `gid` (SO_PEERCRED, SO_PEERGROUPS; both as of connect). */
export function isMember(cred: PeerCred, gid: number): boolean {
  return cred.gid === gid || (cred.groups?.includes(gid) ?? false);
}

/**
 * The role the peer's connect-time credentials give it, or the reason it may not use the socket at
 * all (sent to the peer before the connection is closed).
 */
export function admit(cred: PeerCred, policy: AccessPolicy, ownUid: number = process.geteuid?.() ?? 0): { role: Role } | { refused: string } {
  if (cred.uid === 0) return { role: "root" };
  if (cred.uid === ownUid) return { role: "owner" };
  if (policy.allowGid !== null && isMember(cred, policy.allowGid)) return { role: "member" };
  const who = policy.allowGid === null ? "root" : `root or members of group ${policy.allowGid}`;
  const groups = cred.groups === null ? "groups unknown: no SO_PEERGROUPS" : `groups ${cred.groups.join(",") || "none"}`;
  return { refused: `uid ${cred.uid} (gid ${cred.gid}, ${groups}, pid ${cred.pid}) may not use the control socket: SO_PEERCRED check allows ${who} only` };
}

/** Who sent a request, as the request handler needs it (a missing role counts as `member`, the least). */
export type RequestCaller = Pick<Caller, "pid" | "uid"> & Partial<Caller>;

/** Null when `caller` may send `op`; otherwise the reason ("forbidden: reexec needs uid 0 ..."). */
export function forbidden(op: ControlOp, caller: RequestCaller): string | null {
  const need = accessTable[op];
  const role = caller.role ?? "member";
  if (rank[role] >= rank[need]) return null;
  const what = need === "root" ? "uid 0" : `uid 0 or the init's own uid`;
  const as = role === "member" ? `uid ${caller.uid} is admitted as a member of the control group, which may only send ${memberOps().join(", ")}` : `uid ${caller.uid} is the init's own uid, not 0`;
  return `forbidden: ${op} needs ${what} (${as})`;
}

/** The requests a `control_gid` member may send. */
export function memberOps(): ControlOp[] {
  return (Object.keys(accessTable) as ControlOp[]).filter((op) => accessTable[op] === "member");
}

/** A request refused by policy (the caller's role, or a re-exec file that is not safe): `permission_denied`. */
export class ForbiddenError extends VectorBootError {
  override readonly exitCode: number = ExitCode.os;
}
