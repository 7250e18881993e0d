// A boot with no config file takes defaultConfig() and builds no schema: it must be exactly what the schema gives for {}.
import { expect, test } from "bun:test";
import { evolutionSchema, defaultEvolution } from "../../src/config/evolution-schema.ts";
import { defaultHeartbeat, heartbeatConfigSchema, interruptHandlerDefaults, interruptHandlerSchema, type InterruptHandler } from "../../src/config/heartbeat-schema.ts";
import { loadConfig } from "../../src/config/load.ts";
import { configSchema, defaultConfig } from "../../src/config/schema.ts";

test("a boot with no config file took other defaults than the schema's (a default added or changed in one place only)", () => {
  expect(defaultConfig()).toStrictEqual(configSchema.parse({}));
  expect(defaultHeartbeat()).toStrictEqual(heartbeatConfigSchema.parse({}));
  expect(defaultEvolution()).toStrictEqual(evolutionSchema.parse({}));
  const handler: InterruptHandler = { ...interruptHandlerDefaults };
  expect(handler).toStrictEqual(interruptHandlerSchema.parse({}));
  // What loadConfig gives with no file and with an empty one (through the schema) is the same config.
  expect(loadConfig({ lenient: false }).config).toStrictEqual(configSchema.parse({}));
});

test("the defaults were shared between boots: a change one caller made to its config reached the next one's", () => {
  const first = defaultConfig();
  first.services.push({} as never);
  first.modules.push("x");
  first.evolution.mutable_types.pop();
  first.evolution.rings = 1;
  first.heartbeat.interrupts.zombies = { action: "log", target: "cause", duty: 0.2, duty_period_ms: 100, hold_ms: 5000, repeat_ms: 0 };
  first.heartbeat.guard_ms = 9;
  first.heartbeat_ms = 7;
  expect(defaultConfig()).toStrictEqual(configSchema.parse({}));
  // The schema's own defaults are fresh per parse too.
  const parsed = configSchema.parse({});
  parsed.services.push({} as never);
  parsed.modules.push("x");
  parsed.mounts.push({} as never);
  parsed.evolution.mutable_types.pop();
  parsed.heartbeat.interrupts.x = { ...interruptHandlerDefaults };
  expect(configSchema.parse({})).toStrictEqual(defaultConfig());
});
