// A shutdown asked during the boot waited for the phase at hand to finish, then started every later phase (services included) before stopping them.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { encodeMutationRecords } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { runShipped } from "../harness/artifact.ts";
import { openAs } from "../harness/open-files.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1 a SIGTERM while the storage phase waits 60 s for a disk waited it out and then started the services; it stops the wait, starts no service and powers off at once", async () => {
  const dir = tempDir();
  const marker = join(dir, "service-ran");
  // A disk that never appears: the storage phase would wait all of its wait_ms.
  const disk = `/dev/vb-test-never-${process.pid}-${Date.now()}`;
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    mounts: [{ source: disk, target: join(dir, "mnt"), fstype: "tmpfs", wait_ms: 60_000 }],
    services: [{ name: "svc", argv: ["sh", "-c", `touch ${marker}; exec sleep 1000`] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("waiting for the mount source to appear"), 20_000, "the storage phase to wait for the disk");
  const t0 = performance.now();
  process.kill(init, "SIGTERM");
  const r = await run.result(40_000);
  const ms = performance.now() - t0;
  expect(r.stderr).toContain("shutdown requested reason=SIGTERM");
  expect(r.stderr).toContain("poweroff now");
  expect(r.stderr).not.toContain("phase services");
  expect(existsSync(marker)).toBe(false);
  expect(r.stdout).toContain('vector-boot-status {"reason":"SIGTERM"');
  expect(ms).toBeLessThan(15_000); // not the disk's 60 s wait
}, 60_000);

test("as PID 1 a SIGTERM during the replay of a long journal (a phase that never yields) reached its handler only after the boot had gone on: the services were started, then stopped; no phase after the evolution starts now", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const marker = join(dir, "service-ran");
  // A first boot records the state dir's lineage (the embedded model); then 400,000 mutation
  // records for the next boot to replay (seconds of work in one stretch).
  const first = runShipped(["boot", ...bootArgs(), "--set", `state_dir=${state}`, "--set", "shutdown_after=1"], { timeoutMs: 30_000 });
  expect(first.code).toBe(0);
  const journal = Journal.open(join(state, "journal"));
  for (let i = 0; i < 400_000; i += 1000) {
    const ms = Array.from({ length: 1000 }, (_, k) => ({ tensor: "pixel.0.weight", elementOffset: ((i + k) % 800) * 7, values: Float32Array.from([0.25, 0.5, 0.125]), confidence: 0.9 }));
    await journal.appendMany(RecordType.mutation, encodeMutationRecords(ms));
  }
  await journal.close();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: state, services: [{ name: "svc", argv: ["sh", "-c", `touch ${marker}; exec sleep 1000`] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true, configStateDir: true });
  const init = await run.initPid();
  // The evolution phase holds STATE_DIR/LOCK from its start: the journal is being read and replayed.
  // (The runtime phase's last line was not enough: a signal between the two phases is taken at once,
  // `after=runtime`, with no replay to wait for.)
  const lockHeld = () => openAs(init, join(state, "LOCK")) !== null;

  await waitFor(lockHeld, 30_000, "the evolution phase to take STATE_DIR/LOCK");
  process.kill(init, "SIGTERM");
  const atSignal = run.log();
  const r = await run.result(60_000);
  expect(atSignal).not.toContain("weights ready"); // the signal came during the replay
  expect(r.stderr).toContain("replayed=400000");
  expect(r.stderr).toMatch(/shutdown requested during the boot: later phases not started after=evolution /);
  expect(r.stderr).not.toContain("phase services");
  expect(existsSync(marker)).toBe(false);
  expect(r.stderr).toContain("poweroff now");
  expect(r.stdout).toContain('vector-boot-status {"reason":"SIGTERM"');
}, 120_000);
