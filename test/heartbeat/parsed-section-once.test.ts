// The boot's heartbeat section is parsed once, with the rest of the config: the Heartbeat takes it as parsed.
import { afterAll, beforeEach, expect, test } from "bun:test";
import { heartbeatConfigSchema } from "../../src/config/heartbeat-schema.ts";
import { validateConfig } from "../../src/config/load.ts";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { waitFor } from "./helpers.ts";

// Calls of the heartbeat schema's own safeParse (the config's schema runs it nested, not through this method).
let calls = 0;
const own = Object.getOwnPropertyDescriptor(heartbeatConfigSchema, "safeParse");
const safeParse = heartbeatConfigSchema.safeParse;
Object.defineProperty(heartbeatConfigSchema, "safeParse", { configurable: true, value: (...a: Parameters<typeof safeParse>) => (calls++, safeParse(...a)) });
afterAll(() => (own ? Object.defineProperty(heartbeatConfigSchema, "safeParse", own) : delete (heartbeatConfigSchema as { safeParse?: unknown }).safeParse));
beforeEach(() => (calls = 0));

test("the heartbeat parsed the section the config's schema had already parsed a second time (0.45-0.58 ms before the first beat): given as parsedConfig it is used as it is", async () => {
  const config = validateConfig({ heartbeat: { watchdog: false, sample_ms: 250, interrupts: { zombies: { action: "stop" } } } });
  calls = 0;
  const hb = new Heartbeat({ periodMs: 10, parsedConfig: config.heartbeat });
  expect(calls).toBe(0);
  hb.start();
  await waitFor("3 beats", () => hb.stats().beats >= 3);
  await hb.stop();
  // Its values took effect: watchdog false opened none.
  expect(hb.stats().watchdog).toEqual({ armed: false, pets: 0 });
  expect(hb.stats().errors).toBe(0);
});

test("a raw section is still checked by the heartbeat itself (the library's callers)", () => {
  expect(() => new Heartbeat({ periodMs: 10, config: { guard_ms: 50 } })).toThrow("heartbeat.guard_ms");
  expect(calls).toBe(1);
});
