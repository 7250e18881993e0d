// Boot phase "config": config file + kernel command line (zod); PID 1 reports problems and goes on.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BootOptions } from "./boot-options.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { logger, setLogLevel } from "../log.ts";
import { sethostname } from "../sys/machine.ts";
import type { BootContext } from "./early-setup.ts";

const log = logger("config");

/** Outside PID 1 a bad value throws (non-zero exit); as PID 1 it is logged and the default used. */
export function loadBootConfig(ctx: BootContext, opts: BootOptions): Config & { state_dir: string; run_dir: string } {
  // Each --set stays one token: joined into the line, a value with a space was cut at it.
  const { config, warnings } = loadConfig({ file: opts.configFile ?? (ctx.pid1 ? defaultConfigPath() : undefined), cmdline: ctx.cmdline, tokens: opts.extraCmdline, lenient: ctx.pid1 });
  for (const w of warnings) log.error("invalid setting ignored, default used", { field: w.field, problem: w.problem });
  if (opts.model) config.model = opts.model;
  // PID 1 owns the machine's well-known places; a development boot gets its own so several can run,
  // made by mkdtemp (0700, a name nobody can predict and plant first), and only when it is needed.
  const scratch = ctx.pid1 || (config.state_dir && config.run_dir) ? null : mkdtempSync(join(tmpdir(), "vector-boot-"));
  config.state_dir ??= scratch ? join(scratch, "state") : "/var/lib/vector-boot";
  config.run_dir ??= scratch ? join(scratch, "run") : "/run/vector-boot";
  setLogLevel(config.log_level);
  if (ctx.pid1 && config.hostname) {
    try {
      sethostname(config.hostname);
    } catch (e) {
      log.warn("sethostname failed", { error: String(e) });
    }
  }
  log.info("phase config", { services: config.services.length, heartbeat_ms: config.heartbeat_ms, shutdown: config.shutdown, shutdown_after: config.shutdown_after, state_dir: config.state_dir });
  return config as Config & { state_dir: string; run_dir: string };
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
