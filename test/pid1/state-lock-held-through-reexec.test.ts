// A live re-exec let go of STATE_DIR/LOCK from the exec until the new image's evolution phase (after its config, storage and model load): another process could take the state dir and write the journal meanwhile.
import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { tryLockExclusive } from "../../src/sys/flock.ts";
import { bootArgs } from "./boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(() => killLeftovers());

/** Whether this process could take an exclusive flock on `path` now (released at once when it could). */
function couldLock(path: string, flags: number): boolean {
  let fd = -1;
  try {
    fd = openSync(path, flags);
    return tryLockExclusive(fd);
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd); // closing the only descriptor releases a lock taken
  }
}

const mutate = (sock: string, index: string) => runShippedAsync(["mutate", "pixel.1.bias", index, "--values", "0.5", "--confidence", "0.9", "--socket", sock], 30_000);

test("no other process can take STATE_DIR/LOCK (or the state dir's own lock) at any time during a live re-exec whose new image comes up 1.5 s after the exec; the journal goes on in the new image", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: state, heartbeat_ms: 100, heartbeat_log_every: 0 });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true, configStateDir: true });
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("phase evolution"), 30_000, "the boot");
  const m1 = await mutate(sock, "0");
  expect({ code: m1.code, out: m1.out.trim(), err: m1.err }).toEqual({ code: 0, out: "accepted: journal sequence 1", err: "" });
  expect([couldLock(join(state, "LOCK"), constants.O_RDONLY), couldLock(state, constants.O_RDONLY | constants.O_DIRECTORY)]).toEqual([false, false]);

  // The new image comes up 1.5 s after the exec (a script between the two images), then loads its model before its evolution phase.
  const slow = betweenImages(dir, "slow", "time.sleep(1.5)");
  let done = false;
  let attempts = 0;
  const taken: string[] = [];
  const trying = (async () => {
    while (!done) {
      for (let i = 0; i < 50; i++, attempts++) {
        if (couldLock(join(state, "LOCK"), constants.O_RDONLY)) taken.push("LOCK");
        if (couldLock(state, constants.O_RDONLY | constants.O_DIRECTORY)) taken.push("state dir");
      }
      await Bun.sleep(0);
    }
  })();
  const r = await runShippedAsync(["reexec", slow, "--socket", sock, "--timeout", "60000"], 90_000);
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  const resumed = () => run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "));
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 ") && /phase evolution|evolution disabled/.test(resumed()) && resumed().includes("control socket listening"), 30_000, "the new image's evolution phase", { explain: run.log });
  await Bun.sleep(200);
  done = true;
  await trying;
  expect(attempts).toBeGreaterThan(100);
  // Before: taken from the exec (the lock's descriptors were close-on-exec) until the new image's
  // evolution phase, which found the state dir in use by this process when it tried at that moment.
  expect({ lock: taken.filter((t) => t === "LOCK").length, dir: taken.filter((t) => t !== "LOCK").length }).toEqual({ lock: 0, dir: 0 });
  expect(resumed()).toMatch(/state directory lock handed over across the re-exec/);
  const m2 = await mutate(sock, "1");
  expect({ code: m2.code, out: m2.out.trim(), err: m2.err }).toEqual({ code: 0, out: "accepted: journal sequence 2", err: "" });
  // Still the new image's: the offline journal command that writes is refused.
  const j = await runShippedAsync(["journal", "compact", "--state", state], 30_000);
  expect(j.code).not.toBe(0);
  expect(j.err).toMatch(/in use by another process/);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("a new image whose config names another state_dir (changed between the preflight and the exec) closes the lock handed over, so the old directory is free, and locks its own", async () => {
  const dir = tempDir();
  const [state, moved] = [join(dir, "state"), join(dir, "moved")];
  const sock = join(dir, "run", "control");
  const config = { pixel_test: false, run_dir: join(dir, "run"), state_dir: state, heartbeat_ms: 100, heartbeat_log_every: 0 };
  const cfg = writeJson(dir, "config.json", config);
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true, configStateDir: true });
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("phase evolution"), 30_000, "the boot");
  const edit = betweenImages(dir, "edit", `open(${JSON.stringify(cfg)}, "w").write(${JSON.stringify(JSON.stringify({ ...config, state_dir: moved }))})`);
  const r = await runShippedAsync(["reexec", edit, "--socket", sock, "--timeout", "60000"], 90_000);
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  const resumed = () => run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "));
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 ") && /phase evolution|evolution disabled/.test(resumed()) && resumed().includes("control socket listening"), 30_000, "the new image's evolution phase", { explain: run.log });
  expect(resumed()).toMatch(/the state directory lock handed over is not adopted \(descriptor \d+ is \S+\/state\/LOCK, not \S+\/moved\/LOCK \(another state_dir, or a LOCK file replaced\)\): closed; locking the state directory anew/);
  expect([couldLock(join(state, "LOCK"), constants.O_RDONLY), couldLock(state, constants.O_RDONLY | constants.O_DIRECTORY)]).toEqual([true, true]);
  expect([couldLock(join(moved, "LOCK"), constants.O_RDONLY), couldLock(moved, constants.O_RDONLY | constants.O_DIRECTORY)]).toEqual([false, false]);
  const m = await mutate(sock, "0");
  expect({ code: m.code, out: m.out.trim(), err: m.err }).toEqual({ code: 0, out: "accepted: journal sequence 1", err: "" });
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
