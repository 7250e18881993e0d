// Who may use the control socket: decided from the peer's SO_PEERCRED credentials, never from the request.
import { readFileSync } from "node:fs";
import type { PeerCred } from "../sys/control.ts";

export interface AccessPolicy {
  /** Members of this group (primary or supplementary) may connect too; null: root only. */
  allowGid: number | null;
}

/** Supplementary groups of a live process (from /proc/PID/status); empty when unreadable. */
export function supplementaryGroups(pid: number): number[] {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "latin1")
      .split("\n")
      .find((l) => l.startsWith("Groups:"));
    return line ? line.slice(7).trim().split(/\s+/).filter(Boolean).map(Number) : [];
  } catch {
    return [];
  }
}

/**
 * Null when the peer may use the socket: uid 0, the server's own uid, or a member of `allowGid`.
 * Otherwise the reason, naming the check (sent to the peer before the connection is closed).
 */
export function refusal(cred: PeerCred, policy: AccessPolicy, ownUid: number = process.geteuid?.() ?? 0): string | null {
  if (cred.uid === 0 || cred.uid === ownUid) return null;
  if (policy.allowGid !== null && (cred.gid === policy.allowGid || supplementaryGroups(cred.pid).includes(policy.allowGid))) return null;
  const who = policy.allowGid === null ? "root" : `root or members of group ${policy.allowGid}`;
  return `uid ${cred.uid} (gid ${cred.gid}, pid ${cred.pid}) may not use the control socket: SO_PEERCRED check allows ${who} only`;
}
