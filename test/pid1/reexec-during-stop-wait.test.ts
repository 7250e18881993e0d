// A caller waiting on `stop NAME` or `restart NAME` across a live re-exec: it follows through to the new image and gets the real outcome.
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

/** Boots a service whose SIGTERM handler takes until `gate` exists (bounded): its stop is under way across the re-exec. */
async function bootSlowStopper() {
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

/** Asks `action` of svc, re-execs the instance while the service's stop is under way, then lets the stop end. */
async function acrossReexec(action: "stop" | "restart") {
  const b = await bootSlowStopper();
  const asked = runShippedAsync([action, "svc", "--socket", b.sock, "--timeout", "60000"], 90_000);
  await waitFor(() => lines(b.ev).includes("term"), 30_000, `the ${action}'s stop signal`);
  expect((await runShippedAsync(["reexec", "--socket", b.sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => b.run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(async () => (await listServices(b.sock)).length > 0, 30_000, "the new image's services");
  writeFileSync(b.gate, "");
  return { ...b, result: await asked };
}

test("`stop NAME` waiting when a live re-exec came exited 71 ('may still carry it out') although the new image finished the stop; it follows through and exits 0 once the service is stopped", async () => {
  const { run, sock, ev, result } = await acrossReexec("stop");
  expect({ code: result.code, out: result.out, err: result.err }).toEqual({ code: 0, out: "svc: stopped (stopped)\n", err: "" });
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toBe("stopped");
  expect(lines(ev)).toEqual(["main", "term"]);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("`restart NAME` waiting when a live re-exec came exited 71 ('may still carry it out') although the new image finished the restart; it follows through and exits 0 once the service was started again", async () => {
  const { run, sock, ev, result } = await acrossReexec("restart");
  expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: "" });
  expect(result.out).toMatch(/^svc: restarted \((starting|running), pid \d+\)\n$/);
  await waitFor(() => lines(ev).filter((l) => l === "main").length === 2, 30_000, "the service's next run");
  expect(lines(ev)).toEqual(["main", "term", "main"]);
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toMatch(/^(starting|running)$/);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
