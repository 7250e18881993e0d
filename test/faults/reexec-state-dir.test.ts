// A live re-exec after the config moved (or dropped) state_dir: the new image replayed another journal, so acknowledged mutations left the live weights.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

const mutate = (sock: string, offset: number) => runShipped(["mutate", "pixel.1.bias", String(offset), "--values", "0.5", "--confidence", "0.9", "--socket", sock]);

test("as PID 1, reexec after the config moved state_dir (or dropped it for the default) booted on another journal and dropped the acknowledged mutation from the live weights: refused (65) naming both places; put back, the re-exec goes through and the journal goes on", async () => {
  const dir = tempDir();
  const good = { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0 };
  const cfg = writeJson(dir, "config.json", good);
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true, configStateDir: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the init's control socket");
  expect(mutate(sock, 0).stdout.trim()).toBe("accepted: journal sequence 1");

  writeJson(dir, "config.json", { ...good, state_dir: join(dir, "state2") });
  const moved = runShipped(["reexec", "--socket", sock, "--timeout", "30000"]);
  expect(moved.code).toBe(65);
  expect(moved.stderr).toContain(`would keep its state in ${join(dir, "state2")}, this boot keeps it in ${join(dir, "state")}`);
  expect(moved.stderr).toContain("move the state with a reboot, not a live re-exec");

  const { state_dir: _, ...noState } = good;
  writeJson(dir, "config.json", noState);
  const dropped = runShipped(["reexec", "--socket", sock, "--timeout", "30000"]);
  expect(dropped.code).toBe(65);
  expect(dropped.stderr).toContain(`would keep its state in /var/lib/vector-boot, this boot keeps it in ${join(dir, "state")}`);
  expect(run.log()).not.toContain("resuming after re-exec");

  writeJson(dir, "config.json", good);
  const back = runShipped(["reexec", "--socket", sock, "--timeout", "30000"]);
  expect({ code: back.code, err: back.stderr }).toEqual({ code: 0, err: "" });
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(() => run.log().lastIndexOf("control socket listening") > run.log().indexOf("resuming after re-exec"), 30_000, "the new image's control socket");
  expect(mutate(sock, 1).stdout.trim()).toBe("accepted: journal sequence 2");
  process.kill(init, "SIGTERM");
  // Powered off: reboot(2) in a PID namespace ends its init with SIGINT, unshare reports 130.
  expect((await run.result(30_000)).code).toBe(130);
}, 180_000);
