// After boot, PID 1 gives up the capabilities it no longer needs (from its bounding set, irreversibly).
import type { Config } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { dropBoundingSet, type CapName } from "../sys/capabilities.ts";
import type { BootContext } from "./early-setup.ts";

const log = logger("boot");

/**
 * What the running init itself uses: files and ownership (state dir, sockets), signals, setting
 * service ids and capabilities, mount/umount/sethostname/drop_caches (SYS_ADMIN), reboot(2),
 * nice/rlimits for throttling, reading other processes' /proc entries. Kernel modules are loaded
 * before this point; raw I/O, time, network and the rest are never the init's business.
 */
export const initNeeds: readonly CapName[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE", "CAP_SYS_PTRACE",
];

/** PID 1: keeps what it needs plus what any service is configured to receive. Never throws. */
export function dropPrivileges(ctx: BootContext, config: Config): void {
  if (!ctx.pid1) return;
  if (config.services.some((s) => s.keep_all_capabilities)) {
    log.info("capabilities kept: a service has keep_all_capabilities");
    return;
  }
  const keep = [...new Set([...initNeeds, ...config.services.flatMap((s) => s.capabilities)])];
  try {
    dropBoundingSet(keep);
    log.info("capabilities dropped from the bounding set", { kept: keep.length });
  } catch (e) {
    log.warn("could not drop capabilities", { error: describeError(e) });
  }
}
