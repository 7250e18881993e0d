// Boot phase "services": build the supervisor from the config and start services in dependency order.
import { startOrder } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Reaper } from "../init/reaper.ts";
import type { Handoff } from "./handoff.ts";
import { logger } from "../log.ts";
import { Supervisor } from "../supervisor/supervisor.ts";

const log = logger("boot");

/** Starts (or, after a re-exec, adopts) the services, then the reaper that owns every child. */
export function startServices(config: Config, reaper: Reaper, handoff: Handoff | null): Supervisor {
  const order = startOrder(config);
  const supervisor = new Supervisor(config.services, order, reaper);
  log.info("phase services", { count: config.services.length, order: order.join(",") || "-", adopted: handoff ? handoff.services.filter((s) => s.pid !== null).length : 0 });
  if (handoff) supervisor.adopt(handoff.services);
  else supervisor.startAll();
  reaper.start();
  return supervisor;
}
