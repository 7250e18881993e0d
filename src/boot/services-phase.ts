// Boot phase "services": build the supervisor from the config and start services in dependency order.
import { startOrder } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { Supervisor } from "../supervisor/supervisor.ts";

const log = logger("boot");

export function startServices(config: Config, reaper: Reaper): Supervisor {
  const order = startOrder(config);
  const supervisor = new Supervisor(config.services, order, reaper);
  log.info("phase services", { count: config.services.length, order: order.join(",") || "-" });
  supervisor.startAll();
  return supervisor;
}
