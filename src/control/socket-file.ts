// The control socket's place on disk: a directory only we own (mode enforced), no foreign file at the path.
import { chownSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "../errors.ts";
import { clearSocketPath } from "../sys/control.ts";
import { Sig } from "../sys/signals.ts";
import { ownDirectory } from "../util/own-dir.ts";

/**
 * Creates the socket's directory with `dirMode` (null: leave it as it is), refusing one that is a
 * symlink or belongs to another uid (checked before its mode is touched), group-owned by
 * `allowGid` when set. Removes a stale socket file at `path`; any other file there is refused.
 */
export function prepareSocketPath(path: string, dirMode: number | null, allowGid: number | null): void {
  prepareSocketDir(path, dirMode, allowGid);
  clearSocketPath(path, (reason) => new ConfigError("control socket", reason));
}

/** The directory part of prepareSocketPath: for a listener adopted at a live re-exec, whose socket file stays. */
export function prepareSocketDir(path: string, dirMode: number | null, allowGid: number | null): void {
  if (dirMode === null) return;
  const dir = dirname(path);
  ownDirectory(dir, dirMode, (reason) => new ConfigError("control socket", reason));
  if (allowGid !== null) chownSync(dir, process.geteuid?.() ?? 0, allowGid);
}

/** The name process.on() knows for a signal number. */
export function signalName(sig: number): NodeJS.Signals {
  for (const [k, v] of Object.entries(Sig)) if (v === sig) return k as NodeJS.Signals;
  throw new ConfigError("control wake signal", `signal ${sig} has no name process.on knows`);
}
