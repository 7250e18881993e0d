// A oneshot set-up step before the services that need it: they start once it exited 0, it is not run again, and a failed one holds them back.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStatusLine } from "../../src/boot/exit-status.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

const count = (log: string, s: string) => log.split(s).length - 1;

test("a service depending on a set-up step that exits 0 never started (a dependency that exited was down for good); with type oneshot it starts after the step, which is not run again unless started by hand", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const marker = join(dir, "setup.out");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "setup", type: "oneshot", restart: "always", argv: ["sh", "-c", `sleep 0.3; echo run >> ${marker}`] },
      // api records whether the step had finished when it started.
      { name: "api", depends_on: ["setup"], argv: ["sh", "-c", `cp ${marker} ${join(dir, "api.saw")}; exec sleep 600`] },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("service started service=api"), 30_000, "api started");
  const log = run.log();
  expect(log.indexOf("oneshot service finished service=setup")).toBeGreaterThan(0);
  expect(log.indexOf("oneshot service finished service=setup")).toBeLessThan(log.indexOf("service started service=api"));
  const saw = join(dir, "api.saw");
  await waitFor(() => existsSync(saw) && readFileSync(saw, "utf8") === "run\n", 10_000, "api saw the step's output");
  const ctl = (...args: string[]) => runShippedAsync([...args, "--socket", sock]);
  const services = async () => JSON.parse((await ctl("services", "--json")).out) as Array<{ name: string; state: string; ready: boolean; restarts: number; lastStatus: number | null }>;
  const setup = () => services().then((l) => l.find((s) => s.name === "setup")!);
  expect(await setup()).toMatchObject({ state: "done", ready: true, restarts: 0, lastStatus: 0 });
  // Stopping the running dependent and starting it again does not run the step again.
  expect((await ctl("stop", "api")).code).toBe(0);
  expect((await ctl("start", "api")).code).toBe(0);
  await waitFor(() => count(run.log(), "service started service=api") === 2, 10_000, "api started again");
  expect(count(run.log(), "service started service=setup")).toBe(1);
  expect(readFileSync(marker, "utf8")).toBe("run\n");
  // Started by hand, the step runs again and is done again.
  expect((await ctl("start", "setup")).code).toBe(0);
  await waitFor(() => count(run.log(), "oneshot service finished service=setup") === 2, 10_000, "the step ran again");
  expect(readFileSync(marker, "utf8")).toBe("run\nrun\n");
  expect((await setup()).state).toBe("done");
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
}, 90_000);

test("a main service behind a oneshot step that fails for good (restart never) never starts: the machine ends with 127, naming the step", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", {
    heartbeat_ms: 50,
    services: [
      { name: "migrate", type: "oneshot", restart: "never", argv: ["sh", "-c", "exit 4"] },
      { name: "app", argv: ["sleep", "1000"], depends_on: ["migrate"], main: true },
    ],
  });
  const r = await start(["boot", ...bootArgs(), "--config", cfg], { pid1: true }).result(60_000);
  expect(r.stderr).toMatch(/main service cannot start: a dependency is down for good; shutting the machine down service=app dependency=migrate state=exited status=127/);
  expect(r.stderr).not.toContain("service started service=app");
  expect(parseStatusLine(r.stdout)).toMatchObject({ reason: "main-exited", service: "app", exit: 127 });
  expect(r.code).toBe(127);
}, 90_000);

test("a oneshot across a live re-exec: still running, it is adopted and its exit 0 starts its dependent; done, it stays done and is not run again", async () => {
  const dir = tempDir();
  const go = join(dir, "go");
  const runs = join(dir, "runs");
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 50,
    services: [
      // Runs until the test creates `go`.
      { name: "setup", type: "oneshot", argv: ["sh", "-c", `echo run >> ${runs}; while [ ! -e ${go} ]; do sleep 0.02; done`] },
      { name: "api", depends_on: ["setup"], argv: ["sleep", "1000"] },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("service started service=setup"), 30_000, "setup running");
  process.kill(init, "SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "re-exec 1");
  await waitFor(() => /service adopted service=setup pid=\d+ state=starting/.test(run.log()), 30_000, "setup adopted, still running");
  expect(run.log()).not.toContain("service started service=api");
  await Bun.write(go, "");
  await waitFor(() => run.log().includes("service started service=api"), 30_000, "api started after the adopted step finished");
  const log = run.log();
  expect(log.indexOf("oneshot service finished service=setup")).toBeGreaterThan(log.indexOf("resuming after re-exec generation=1 "));
  expect(log.indexOf("oneshot service finished service=setup")).toBeLessThan(log.indexOf("service started service=api"));
  process.kill(init, "SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=2 "), 30_000, "re-exec 2");
  await waitFor(() => /service adopted service=api/.test(run.log().slice(run.log().indexOf("generation=2 "))), 30_000, "api adopted");
  expect(run.log().slice(run.log().indexOf("resuming after re-exec generation=2 "))).toMatch(/service stays down after re-exec service=setup state=done/);
  expect(count(run.log(), "service started service=setup")).toBe(1);
  expect(readFileSync(runs, "utf8")).toBe("run\n");
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.stderr).toContain("poweroff now");
}, 120_000);
