// Adapter from the boot sequence's parts (supervisor, shutdown request, runtime hooks) to a ControlTarget.
import pkg from "../../package.json" with { type: "json" };
import { InputError } from "../errors.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import { checkReexecPath } from "./reexec-path.ts";
import type { ControlMutation, ControlTarget, ServiceStatus } from "./target.ts";

export interface BootTargetParts {
  /** The supervisor once services started; null before (or after a failed boot). */
  supervisor(): (Pick<Supervisor, "list" | "start" | "stop" | "restart"> & Partial<Pick<Supervisor, "logLines">>) | null;
  /** Records an orderly shutdown (`ShutdownSignals.request`). */
  requestShutdown(req: { reason: string; mode: "poweroff" | "reboot" }): void;
  /** The shutdown already requested (by anyone: a signal, the socket) and the mode it ends in, or null. */
  shutdownUnderway?(): { reason: string; mode: string } | null;
  /** Re-exec generation (0 on a fresh boot). */
  generation?: () => number;
  /** Further status fields: `boot` timings, `beat` statistics, `model`, `journal` position. */
  status?(): Record<string, unknown>;
  stats?(): Record<string, unknown>;
  executePixels?(pixels: Array<[number, number, number]>): unknown | Promise<unknown>;
  submitMutation?(m: ControlMutation): Promise<unknown>;
  checkpoint?(): Promise<unknown>;
  reexec?(path?: string): Promise<unknown>;
  /** Time since the init started (default: since this image started, performance.now()). */
  uptimeMs?(): number;
  /** Why an absent part is absent, by op (answered with `not_supported`). */
  unsupported?: Partial<Record<string, string>>;
}

/**
 * A ControlTarget over the running init. Optional parts left out answer `not_supported`. A
 * `reexec` PATH is checked here (checkReexecPath) before `reexec` (and its `--version` preflight)
 * is called.
 */
export function bootTarget(p: BootTargetParts): ControlTarget {
  const sup = () => {
    const s = p.supervisor();
    if (!s) throw new InputError("services are not running (boot not finished, or it failed)");
    return s;
  };
  const t: ControlTarget = {
    status: () => ({
      pid: process.pid,
      version: pkg.version,
      uptimeMs: Math.round(p.uptimeMs?.() ?? performance.now()),
      generation: p.generation?.() ?? 0,
      services: summarize(p.supervisor()?.list() ?? []),
      ...p.status?.(),
    }),
    services: (withUsage = true) => p.supervisor()?.list(withUsage) ?? [],
    startService: (n) => sup().start(n),
    stopService: (n) => sup().stop(n),
    restartService: (n) => sup().restart(n),
    serviceLogs: (n, after, limit) => sup().logLines?.(n, after, limit) ?? null,
    stats: () => p.stats?.() ?? {},
    shutdown: (mode) => p.requestShutdown({ reason: `control socket: ${mode}`, mode }),
  };
  if (p.unsupported) t.unsupported = p.unsupported;
  if (p.shutdownUnderway) t.shutdownUnderway = () => p.shutdownUnderway!();
  if (p.executePixels) t.executePixels = (px) => p.executePixels!(px);
  if (p.submitMutation) t.submitMutation = (m) => p.submitMutation!(m);
  if (p.checkpoint) t.checkpoint = () => p.checkpoint!();
  // A named image is checked (root-owned, not writable by others, nor its directories) before
  // anything runs it, and from then on named by its canonical path (see reexec-path.ts).
  if (p.reexec) t.reexec = async (path) => p.reexec!(path === undefined ? undefined : checkReexecPath(path));
  return t;
}

/** "3 running, 1 backoff" style counts by state. */
function summarize(list: ServiceStatus[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) out[s.state] = (out[s.state] ?? 0) + 1;
  return out;
}
