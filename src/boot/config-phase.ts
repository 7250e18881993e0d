// Boot phase "config": config file + kernel command line (zod); PID 1 reports problems and goes on.
import { lstatSync, mkdtempSync, rmdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { BootOptions } from "./boot-options.ts";
import { loadConfig } from "../config/load.ts";
import { parseCmdline } from "../config/cmdline.ts";
import { logger, setLogLevel } from "../log.ts";
import { sethostname } from "../sys/machine.ts";
import type { BootContext } from "./early-setup.ts";
import type { BootConfig } from "./phase.ts";
import { privateDirProblem } from "../util/private-dir.ts";

const log = logger("config");

/** PID 1's state when the config names none. */
export const PID1_STATE_DIR = "/var/lib/vector-boot";

/**
 * Outside PID 1 a bad value throws (non-zero exit); as PID 1 it is logged and the default used.
 * `handedScratch`: the development boot's own directory, from the image before a live re-exec.
 */
export function loadBootConfig(ctx: BootContext, opts: BootOptions, handedScratch?: unknown): { config: BootConfig; scratch: string | null; stateDirByDefault: string | null } {
  // Each --set stays one token: joined into the line, a value with a space was cut at it.
  const { config, warnings } = loadConfig({ file: bootConfigFile(ctx, opts), cmdline: ctx.cmdline, tokens: opts.extraCmdline, lenient: ctx.pid1 });
  for (const w of warnings) log.error("invalid setting ignored, default used", { field: w.field, problem: w.problem });
  if (opts.model) config.model = opts.model;
  // PID 1 owns the machine's well-known places; a development boot gets its own so several can run,
  // made by mkdtemp (0700, a name nobody can predict and plant first), and only when it is needed.
  // After a live re-exec it is the one the previous image made: a new one lost the journal (every
  // acknowledged mutation) and moved both sockets away from their clients.
  const scratch = ctx.pid1 || (config.state_dir && config.run_dir) ? null : (ownScratch(handedScratch) ?? mkdtempSync(join(tmpdir(), "vector-boot-")));
  // Where the state goes when no state_dir is configured, as a live re-exec's new image would place it (null: a new mkdtemp).
  const stateDirByDefault = ctx.pid1 ? PID1_STATE_DIR : scratch ? join(scratch, "state") : null;
  // Absolute from here on, taken from where the init was started: a relative run_dir reached services
  // as a relative NOTIFY_SOCKET, which one running in another directory (cwd "/") could not send to.
  config.state_dir = resolve(config.state_dir ?? stateDirByDefault!);
  config.run_dir = resolve(config.run_dir ?? (scratch ? join(scratch, "run") : "/run/vector-boot"));
  setLogLevel(config.log_level);
  if (ctx.pid1 && config.hostname) {
    try {
      sethostname(config.hostname);
    } catch (e) {
      log.warn("sethostname failed", { error: String(e) });
    }
  }
  log.info("phase config", { services: config.services.length, heartbeat_ms: config.heartbeat_ms, shutdown: config.shutdown, shutdown_after: config.shutdown_after, state_dir: config.state_dir });
  return { config: config as BootConfig, scratch, stateDirByDefault };
}

/** The handed-over scratch directory when it is still what mkdtemp made: ours, 0700, not a symlink. */
function ownScratch(handed: unknown): string | null {
  const dir = (handed as { scratch?: unknown } | undefined)?.scratch;
  if (typeof dir !== "string" || !isAbsolute(dir)) return null;
  try {
    const st = lstatSync(dir);
    const why = privateDirProblem(dir, st) ?? ((st.mode & 0o777) === 0o700 ? null : `mode ${(st.mode & 0o777).toString(8)}, not mkdtemp's 700`);
    if (why === null) return dir;
    log.warn("the previous image's directory is not as it made it; using a new one", { dir, why });
  } catch (e) {
    log.warn("the previous image's directory is gone; using a new one", { dir, error: String(e) });
  }
  return null;
}

/** At the end of a development boot: its run directory and its own directory go when they are empty (the state stays). */
export function removeScratch(scratch: string): void {
  for (const d of [join(scratch, "run"), scratch]) {
    try {
      rmdirSync(d);
    } catch {
      /* not empty (the state, a socket left by a crash) or gone */
    }
  }
}

/**
 * The file named by --config; else, as PID 1, /etc/vector-boot/config.json unless the command line
 * (or a --set) names one with vector.config= (undefined: loadConfig takes that one). The default file
 * was passed as if given with --config, so vector.config= was ignored whenever the image had one.
 */
export function bootConfigFile(ctx: Pick<BootContext, "pid1" | "cmdline">, opts: BootOptions): string | undefined {
  if (opts.configFile !== undefined || !ctx.pid1) return opts.configFile;
  return parseCmdline(ctx.cmdline, opts.extraCmdline).overrides.config !== undefined ? undefined : defaultConfigPath();
}

/** PID 1 reads /etc/vector-boot/config.json when it exists. */
export function defaultConfigPath(): string | undefined {
  const p = "/etc/vector-boot/config.json";
  try {
    return Bun.file(p).size > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

/** os.tmpdir(), with node:os loaded only by a boot that makes its scratch directory (0.2 ms at import otherwise). */
function tmpdir(): string {
  return (import.meta.require("node:os") as typeof import("node:os")).tmpdir();
}
