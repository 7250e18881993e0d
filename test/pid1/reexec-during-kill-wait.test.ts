// A live re-exec during the final wait after a stop's SIGKILL: the new image re-armed the timer as a stop grace, so the run got a second SIGKILL after it and only then a whole KILL_WAIT_MS more before it was given up.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { KILL_WAIT_MS } from "../../src/supervisor/service-machine.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { killLeftovers, killRunning, loggedAt, pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";
import { listServices } from "./service-boot.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

test("cgroups off, a stop whose run outlived its SIGKILL (a zombie keeping its process group populated) re-exec'd during the final wait: the new image continues that wait (given up KILL_WAIT_MS after the one SIGKILL), no second grace and SIGKILL", async () => {
  const dir = tempDir();
  // The main process M (group G) runs C in the background; C starts Z in G, then calls setsid()
  // (leaving G, so no signal to G reaches it) and never reaps Z: Z's zombie keeps G populated. M
  // exits on SIGTERM; the stop then waits for G, SIGKILLs it at the end of the grace, and waits.
  const holder = ["sleep", String(800_000 + (process.pid % 99_999))];
  cleanups.push(() => killRunning(holder)); // C: its end frees the zombie
  const argv = ["sh", "-c", `( sleep 0.1 & exec setsid ${holder.join(" ")} ) & trap 'exit 0' TERM; while :; do sleep 0.05; done`];
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_log_every: 0, services: [{ name: "svc", argv, no_new_privs: false, grace_ms: 1000 }] });
  const run = bootWithoutCgroups(cfg, cleanups);
  await waitFor(() => pidsRunning(holder).length === 1 && run.log().includes("control socket listening"), 30_000, "the service and its escaped child", { explain: run.log });
  await Bun.sleep(300); // Z has exited (a zombie)
  const stop = runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "60000"], 90_000);
  const sigkill = /sending SIGKILL to what is left of its run service=svc/;
  await waitFor(() => sigkill.test(run.log()), 10_000, "the SIGKILL at the end of the grace", { explain: run.log, pollMs: 5 });
  expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  const givenUp = /service's run still there \d+ ms after SIGKILL .* service=svc/;
  await waitFor(() => givenUp.test(run.log()), 3 * KILL_WAIT_MS + 5_000, "the run given up", { explain: run.log });
  const log = run.log();
  const after = log.slice(log.indexOf("resuming after re-exec generation=1 "));
  expect(after.length).toBeLessThan(log.length); // the re-exec came before the run was given up
  expect(after).toMatch(givenUp);
  // Before: a second "ignored SIGTERM for 6000 ms; sending SIGKILL" in the new image when what was
  // left of the wait ran out, then KILL_WAIT_MS more (given up ~10 s after the first SIGKILL).
  expect(log.match(new RegExp(sigkill.source, "g"))?.length).toBe(1);
  const waited = loggedAt(log, givenUp)! - loggedAt(log, sigkill)!;
  expect(waited).toBeGreaterThan(KILL_WAIT_MS - 200);
  expect(waited).toBeLessThan(KILL_WAIT_MS + 1_000);
  expect(after).toMatch(/service adopted service=svc pid=null state=stopping waiting_for="the rest of its run after SIGKILL"/);
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toBe("failed");
  await stop;
  expect(await run.shutdown()).toBe(130);
}, 120_000);
