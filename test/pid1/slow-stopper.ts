// A service whose stop is under way across a live re-exec (its SIGTERM handler waits for a gate), and a stop or restart asked of it then: the set-up of the re-exec-during-stop tests.
import { expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { lines } from "./file-text.ts";
import { start, tempDir, waitFor, writeJson } from "./harness.ts";
import { listServices } from "./service-boot.ts";

/** Boots a service whose SIGTERM handler takes until `gate` exists (bounded): its stop is under way across the re-exec. */
export async function bootSlowStopper() {
  const dir = tempDir();
  const ev = join(dir, "events");
  const gate = join(dir, "gate");
  const sock = join(dir, "run/control");
  const argv = ["sh", "-c", `trap 'echo term >> ${ev}; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; exit 0' TERM; echo main >> ${ev}; while :; do sleep 0.05; done`];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv, grace_ms: 60_000 }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => lines(ev).includes("main") && run.log().includes("control socket listening"), 30_000, "the service");
  return { ev, gate, sock, run };
}

/** Asks `action` of svc, re-execs the instance while the service's stop is under way, then lets the stop end; the command's result. */
export async function acrossReexec(action: "stop" | "restart") {
  const b = await bootSlowStopper();
  const asked = runShippedAsync([action, "svc", "--socket", b.sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(b.ev).includes("term"), 30_000, `the ${action}'s stop signal`);
  expect((await runShippedAsync(["reexec", "--socket", b.sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => b.run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(async () => (await listServices(b.sock)).length > 0, 30_000, "the new image's services");
  writeFileSync(b.gate, "");
  return { ...b, result: await asked };
}
