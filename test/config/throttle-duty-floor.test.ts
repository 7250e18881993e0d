// A throttle asked to let a service run less than a millisecond a period: accepted, and not kept (cpu.max's quota is at least 1000 us).
import { expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";

const withThrottle = (duty: number, duty_period_ms: number) => ({ heartbeat: { interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty, duty_period_ms } } } });

test("a throttle of duty 0.01 over 10 ms periods (0.1 ms of run time each) was accepted and ran the service 10 % of the time (cpu.max's quota floor is 1000 us): refused naming the field; 1 ms and more is taken", () => {
  let err: unknown;
  try {
    validateConfig(withThrottle(0.01, 10), "cfg");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).field).toBe("cfg: heartbeat.interrupts.cpu_pressure.duty");
  expect(() => validateConfig(withThrottle(0.1, 10), "cfg")).not.toThrow();
  expect(() => validateConfig(withThrottle(0.01, 100), "cfg")).not.toThrow();
});
