// Control server options and their defaults (limits, timeouts, file modes, wake signal).
import { Sig } from "../sys/signals.ts";
import { DEFAULT_CONTROL_SOCKET } from "./protocol.ts";
import type { ControlTarget } from "./target.ts";
import type { ControlPart } from "./handed-listener.ts";

export interface ControlServerOptions {
  target: ControlTarget;
  /** Socket path (default /run/vector-boot/control). */
  path?: string;
  /** Members of this group may connect besides root (socket 0660 and directory 0710, group-owned). Default null. */
  allowGid?: number | null;
  /** Socket file mode (default 0600, 0660 with allowGid). */
  socketMode?: number;
  /** Mode the parent directory is created/fixed with (default 0700, 0710 with allowGid); null: use it as it is. */
  dirMode?: number | null;
  maxLineBytes?: number;
  maxConnections?: number;
  /** Requests waiting behind the one in progress, per connection (more get `busy`). */
  maxQueued?: number;
  /** Unread reply bytes a peer may leave before it is disconnected. */
  maxOutputBytes?: number;
  /** A connection with nothing in progress for this long is closed. */
  idleTimeoutMs?: number;
  /** A request line must be complete within this long of its first byte. */
  requestTimeoutMs?: number;
  /** Period of the safety poll and timeout checks. */
  housekeepingMs?: number;
  /** Readiness signal (O_ASYNC); null: no signal, the safety poll alone drives the socket. */
  wakeSignal?: number | null;
  /** The listener the previous image handed over at a live re-exec (adopted when it checks out; else the path is bound anew). */
  handed?: ControlPart | null;
}

export type ResolvedOptions = Required<Omit<ControlServerOptions, "target" | "handed">>;

export function resolveOptions(opts: ControlServerOptions): ResolvedOptions {
  const allowGid = opts.allowGid ?? null;
  return {
    path: opts.path ?? DEFAULT_CONTROL_SOCKET,
    allowGid,
    socketMode: opts.socketMode ?? (allowGid === null ? 0o600 : 0o660),
    dirMode: opts.dirMode === undefined ? (allowGid === null ? 0o700 : 0o710) : opts.dirMode,
    maxLineBytes: opts.maxLineBytes ?? 64 * 1024,
    maxConnections: opts.maxConnections ?? 32,
    maxQueued: opts.maxQueued ?? 16,
    maxOutputBytes: opts.maxOutputBytes ?? 1024 * 1024,
    idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 5_000,
    housekeepingMs: opts.housekeepingMs ?? 250,
    wakeSignal: opts.wakeSignal === undefined ? Sig.SIGURG : opts.wakeSignal,
  };
}
