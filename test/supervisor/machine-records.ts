// Service records for the state-machine tests: a validated config, and a record started and spawned (pid 10) at time 0.
import { validateConfig } from "../../src/config/load.ts";
import type { ServiceConfig } from "../../src/config/schema.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import { newRecord, type ServiceRecord } from "../../src/supervisor/service-record.ts";

/** Service "s" running `x`, with `extra` settings, as the config loader validates it. */
export const serviceConfig = (extra: Record<string, unknown> = {}): ServiceConfig => validateConfig({ services: [{ name: "s", argv: ["x"], ...extra }] }).services[0]!;

/** A record of `config` started and spawned as pid 10 at time 0. */
export function spawnedRecord(config: ServiceConfig): ServiceRecord {
  const r = newRecord(config);
  step(r, { type: "start" }, 0);
  step(r, { type: "spawned", pid: 10 }, 0);
  return r;
}
