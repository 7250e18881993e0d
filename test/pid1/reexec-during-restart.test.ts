// A live re-exec while a `restart` waited for its service to stop: the new image finishes the stop and starts the service again.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { listServices } from "./service-boot.ts";

afterEach(killLeftovers);

const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");
const lines = (p: string) => read(p).split("\n").filter(Boolean);

test("a live re-exec while `restart` waited out the service's stop left the service stopped for good (the restart's start went with the old image); the new image now starts it once the stop is over", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const gate = join(dir, "gate");
  const sock = join(dir, "run/control");
  // Its SIGTERM handler takes until the test creates `gate` (bounded): the stop is under way across the re-exec.
  const argv = ["sh", "-c", `trap 'echo term >> ${ev}; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; exit 0' TERM; echo main >> ${ev}; while :; do sleep 0.05; done`];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv, grace_ms: 60_000 }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => lines(ev).includes("main") && run.log().includes("control socket listening"), 30_000, "the service");
  // Its connection goes with the old image; the command follows through to the new one (reexec-during-stop-wait.test.ts).
  const restart = runShippedAsync(["restart", "svc", "--socket", sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(ev).includes("term"), 30_000, "the restart's stop signal");
  const r = await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000);
  expect(r.code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(async () => (await listServices(sock)).length > 0, 30_000, "the new image's control socket");
  writeFileSync(gate, "");
  await waitFor(() => lines(ev).filter((l) => l === "main").length === 2, 30_000, "the service's next run");
  expect((await restart).code).toBe(0);
  await waitFor(async () => (await listServices(sock)).find((s) => s.name === "svc")?.state === "running", 30_000, "svc running");
  expect(lines(ev)).toEqual(["main", "term", "main"]);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
