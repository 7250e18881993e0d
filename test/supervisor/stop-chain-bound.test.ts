// The services' stop bound and the default shutdown deadline follow the longest chain of dependent stops, not the longest single stop.
import { expect, test } from "bun:test";
import { longestStopMs } from "../../src/boot/services-phase.ts";
import { shutdownDeadlineMs } from "../../src/boot/shutdown.ts";

const svc = (name: string, grace_ms: number, depends_on: string[] = [], post_stop?: number) => ({ name, grace_ms, depends_on, ...(post_stop === undefined ? {} : { post_stop: { timeout_ms: post_stop } }) });

test("a chain web -> api -> db of 4 s stops was bounded by one service's stop (5 s + 5 s), though each stops only after its dependents: now the chain's sum", () => {
  const services = [svc("db", 5000), svc("api", 5000, ["db"]), svc("web", 5000, ["api"])];
  expect(longestStopMs({ grace_ms: 1000, services })).toBe(15_000);
  expect(shutdownDeadlineMs({ grace_ms: 1000, services })).toBe(25_000);
  expect(shutdownDeadlineMs({ grace_ms: 1000, services, shutdown_deadline_ms: 3000 })).toBe(3000);
});

test("independent services stop at once: the longest of them, a post_stop counted with its service, the top-level grace when it is longer", () => {
  expect(longestStopMs({ grace_ms: 1000, services: [svc("a", 2000), svc("b", 3000, [], 500)] })).toBe(3500);
  expect(longestStopMs({ grace_ms: 9000, services: [svc("a", 2000), svc("b", 3000)] })).toBe(9000);
  expect(longestStopMs({ grace_ms: 1000 })).toBe(1000);
});

test("a diamond (two dependents of db, one of them behind a third) takes its longest branch, and a shared dependency is counted once per chain", () => {
  const services = [svc("db", 1000), svc("cache", 1000, ["db"]), svc("api", 2000, ["db"]), svc("web", 4000, ["api", "cache"]), svc("cron", 500, ["db"], 3000)];
  // web (4000) -> api (2000) -> db (1000); web -> cache -> db is shorter; cron with its post_stop 3500 + db.
  expect(longestStopMs({ grace_ms: 0, services })).toBe(7000);
});
