// A live re-exec into a config without one of the running services: it was left running with its pipes into the init unread (blocked in write at 64 KiB of output) until the machine went down.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { childrenOf, killLeftovers, tempDir, waitFor } from "./harness.ts";
import { lines } from "./file-text.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

test("a service dropped from the config at a live re-exec was left running, its output pipe unread (it blocked in write for good) and its cgroup kept: it is stopped (its pipes closed, SIGTERM), the rest goes on", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const chatty = { name: "chatty", argv: ["sh", "-c", `echo "pid $$" >> ${ev}; trap 'echo term >> ${ev}; exit 0' TERM; while :; do echo line; sleep 0.01; done`] };
  const steady = { name: "steady", argv: ["sh", "-c", "while :; do sleep 1; done"] };
  const { run, list } = bootServices(dir, [chatty, steady], { heartbeat_ms: 100, heartbeat_log_every: 0 }, { pid1: true });
  await waitFor(() => lines(ev).some((l) => l.startsWith("pid ")) && run.log().includes("control socket listening"), 30_000, "the services");
  const init = await run.initPid();
  // chatty's shell as this namespace sees it (its own "pid" line is the PID namespace's number).
  const chattyPid = () => childrenOf(init).find((p) => { try { return readFileSync(`/proc/${p}/cmdline`, "latin1").includes(ev); } catch { return false; } }) ?? null;
  expect(chattyPid()).not.toBeNull();
  // The next image's config has steady only.
  writeFileSync(join(dir, "config.json"), JSON.stringify({ pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [steady], heartbeat_ms: 100, heartbeat_log_every: 0 }));
  expect((await runShippedAsync(["reexec", "--socket", join(dir, "run", "control"), "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => run.log().includes("service from before the re-exec is no longer configured; stopping it service=chatty"), 30_000, "the new image's word on chatty", { explain: () => run.log() });
  // Its pipe closed and SIGTERM sent: gone (by SIGPIPE at its next line, or its trap).
  await waitFor(() => chattyPid() === null, 15_000, "chatty's end");
  expect((await list()).map((s) => [s.name, s.state])).toEqual([["steady", "running"]]);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
