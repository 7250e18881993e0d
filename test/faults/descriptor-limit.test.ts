// Out of file descriptors (EMFILE) while starting services: the output pipes of the next service could not be made,
// and that failed the whole boot (exit 71), leaving the services already started running after the init was gone.
import { afterEach, expect, test } from "bun:test";
import { hidden, runAsync, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { exe, killLeftovers, pidsRunning, tempDir, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a service whose output pipes hit the descriptor limit (EMFILE) failed the whole boot (71) and left the services started before it running; now it is that service's failed start", async () => {
  const unique = String(800_000 + (process.pid % 99_999)); // names our sleeps among the host's processes
  const cfg = writeJson(tempDir(), "config.json", {
    pixel_test: false,
    shutdown_after: 2,
    services: Array.from({ length: 120 }, (_, i) => ({ name: `s${i}`, argv: ["sleep", unique], restart: "never" })),
  });
  // 160 descriptors: the init's own, and the pipes of some 50-60 services.
  const argv = hidden(["/bin/sh", "-c", 'ulimit -n 160 && exec "$0" "$@"', exe, "boot", ...bootArgs(), "--config", cfg]);
  const r = await runAsync(argv, { timeoutMs: 60_000, env: shippedEnv() });
  expect(r.err).toContain('service could not start service=');
  expect(r.err).toContain("EMFILE");
  expect(r.err).not.toContain("boot failed");
  expect(r.err).toContain("first heartbeat");
  expect(r.code).toBe(0);
  expect(pidsRunning(["sleep", unique])).toEqual([]); // every started service was stopped at shutdown
}, 90_000);

test("an init at its descriptor limit when its image trim came round died of 'SystemError: Failed to get memory usage' (uncaught, exit 70): the trim goes on without the RSS figures", async () => {
  const unique = String(700_000 + (process.pid % 99_999));
  const cfg = writeJson(tempDir(), "config.json", {
    pixel_test: false,
    shutdown_after: 2,
    image_trim_ms: 500,
    services: Array.from({ length: 120 }, (_, i) => ({ name: `s${i}`, argv: ["sleep", unique], restart: "never" })),
  });
  const argv = hidden(["/bin/sh", "-c", 'ulimit -n 160 && exec "$0" "$@"', exe, "boot", ...bootArgs(), "--config", cfg]);
  const r = await runAsync(argv, { timeoutMs: 60_000, env: shippedEnv() });
  expect(r.err).toContain("EMFILE"); // still at the limit after the services' start
  expect(r.err).not.toContain("uncaught exception");
  expect(r.err).toMatch(/image (trimmed|not trimmed)/);
  expect(r.code).toBe(0);
  expect(pidsRunning(["sleep", unique])).toEqual([]);
}, 90_000);
