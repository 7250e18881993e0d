// One service booted as PID 1 and the instance re-exec'd live while the service waits for a gate file: the set-up of the re-exec-during tests.
import { expect } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { start, tempDir, waitFor, writeJson, type Run } from "./harness.ts";
import { listServices } from "./service-boot.ts";

/** Where a booted service records its events, the gate file the test creates to let it go on, and the control socket. */
export interface Paths {
  ev: string;
  gate: string;
  sock: string;
}

/** Shell words that wait until `gate` exists, bounded (60 s). */
export const untilGate = (gate: string) => `i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;

/** Boots `service(paths)` alone as PID 1 of a new PID namespace (heartbeat every 100 ms, not logged). */
export function bootOne(service: (p: Paths) => Record<string, unknown>): Paths & { run: Run } {
  const dir = tempDir();
  const p = { ev: join(dir, "events"), gate: join(dir, "gate"), sock: join(dir, "run/control") };
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [service(p)] });
  return { ...p, run: start(["boot", ...bootArgs(), "--config", cfg], { pid1: true }) };
}

/** Waits until `ready` holds and the control socket listens. */
export function untilUp(run: Run, ready: () => boolean, what: string): Promise<void> {
  return waitFor(() => ready() && run.log().includes("control socket listening"), 30_000, what);
}

/** Re-execs the instance at `sock` (the command exits 0) and waits until the new image resumes. */
export async function liveReexec(run: Run, sock: string): Promise<void> {
  expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
}

/** Waits until the new image lists its services on `sock`. */
export function newImageAnswers(sock: string): Promise<void> {
  return waitFor(async () => (await listServices(sock)).length > 0, 30_000, "the new image's control socket");
}

/** SIGTERM to the init: it exits as the namespace's PID 1 does (unshare 130). */
export async function shutDown(run: Run): Promise<void> {
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}
