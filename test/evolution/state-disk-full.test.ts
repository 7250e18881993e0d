// A state disk that fills up under a running init: what was acknowledged stays, what could not be journaled is never acknowledged.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { runAsync, runShippedAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

const mounts: string[] = [];
afterEach(() => {
  killLeftovers();
  for (const m of mounts.splice(0)) Bun.spawnSync(["umount", "-l", m]);
});

/** Sequential mutations from one Python client until the first refusal (at most `max`): each completion as [status name, journal_seq, text]. */
async function mutateUntilRefused(socket: string, max: number): Promise<Array<[string, number, string]>> {
  const script = `
import json, sys
from vector_boot_evolution import Client
out = []
with Client(sys.argv[1], 30) as c:
    for i in range(int(sys.argv[2])):
        d = c.mutate("pixel.1.bias", i % 3, [0.01 * (i + 1)], 0.95)
        out.append([d.status_name, d.journal_seq, d.text])
        if not d.accepted:
            break
    # One more after the refusal: the journal stays stopped.
    d = c.mutate("pixel.1.bias", 0, [0.5], 0.95)
    out.append([d.status_name, d.journal_seq, d.text])
print(json.dumps(out))
`;
  const r = await runAsync([python, "-c", script, socket, String(max)], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`python exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as Array<[string, number, string]>;
}

test("a state disk that fills up: the mutation whose journal write fails is refused JOURNAL_FAILED (outcome unknown); every later one, never written, was JOURNAL_FAILED too and is NOT_TAKEN (over the ring and the control socket, exit 75); the cause (ENOSPC) in the log and the control answer; the beat goes on; the next boot replays exactly the acknowledged ones (torn tail cut)", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  mkdirSync(state);
  // A real file system that runs out of space: a 256 KiB tmpfs.
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "vb-state-full", state], { stderr: "pipe" });
  expect(m.exitCode, m.stderr.toString()).toBe(0);
  mounts.push(state);
  const cfg = writeJson(dir, "config.json", { pixel_test: false, state_dir: state, run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 } });
  const socket = join(dir, "run/evolution.sock");

  const boot1 = start(["boot", "--config", cfg, "--set", "heartbeat_log_every=0"]);
  await waitFor(() => boot1.log().includes("phase heartbeat"), 30_000, "boot 1 up");
  // Fill what is left; the journal segment's last page still has room, so appends go on until it is full.
  Bun.spawnSync(["dd", "if=/dev/zero", `of=${join(state, "filler")}`, "bs=4k"], { stderr: "ignore" });
  const done = await mutateUntilRefused(socket, 400);
  const acked = done.filter((d) => d[0] === "ACCEPTED");
  const refused = done.filter((d) => d[0] !== "ACCEPTED");
  expect(acked.length).toBeGreaterThan(0);
  expect(acked.map((d) => d[1])).toEqual(acked.map((_, i) => i + 1));
  // The write that failed held the first one: its outcome is unknown. The next one the stopped journal
  // never wrote: nothing journaled, nothing changed (it was JOURNAL_FAILED, "outcome unknown", too).
  expect(refused).toEqual([
    ["JOURNAL_FAILED", 0, "journal stopped: outcome unknown"],
    ["NOT_TAKEN", 0, "journal stopped: not journaled ("],
  ]);
  // The log says why: the cause, not only that the write failed.
  expect(boot1.log()).toMatch(/journal STOPPED[^\n]*ENOSPC: no space left on device/);
  // Over the control socket (no 32-byte slot text) the refusal names the cause.
  const viaControl = await runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.95", "--json", "--socket", join(dir, "run", "control")]);
  // Never written: NOT_TAKEN, 75 (it was JOURNAL_FAILED, 74: the outcome unknown; before that 1, as for a refusal).
  expect(viaControl.code).toBe(75);
  expect(viaControl.out + viaControl.err).toMatch(/NOT_TAKEN[^\n]*journal stopped: not journaled \([^\n]*ENOSPC: no space left on device/);
  // The init is not taken down by it: beats go on.
  const beats = async () => JSON.parse((await runShippedAsync(["status", "--json", "--socket", join(dir, "run", "control")])).out).heartbeat.beats as number;
  const before = await beats();
  await waitFor(async () => (await beats()) > before + 2, 10_000, "beats after the journal stopped");
  process.kill(boot1.proc.pid, "SIGTERM");
  const r1 = await boot1.result(20_000);
  expect(r1.code).toBe(0);
  expect(r1.stderr).toMatch(/final checkpoint failed; the journal still holds every mutation/);

  // Space again: the next boot cuts the torn record and replays every acknowledged mutation, no more.
  rmSync(join(state, "filler"));
  const boot2 = start(["boot", "--config", cfg, "--set", "heartbeat_log_every=0"]);
  await waitFor(() => boot2.log().includes("phase heartbeat") || boot2.log().includes("ERROR"), 30_000, "boot 2 up");
  expect(boot2.log()).toContain(`replayed=${acked.length} `);
  expect(boot2.log()).toContain(`nextSeq=${acked.length + 1}`);
  const next = await mutateUntilRefused(socket, 1);
  expect(next[0]).toEqual(["ACCEPTED", acked.length + 1, ""]);
  process.kill(boot2.proc.pid, "SIGTERM");
  expect((await boot2.result(20_000)).code).toBe(0);
  expect(readdirSync(join(state, "checkpoints")).some((f) => f.endsWith(".gguf") && statSync(join(state, "checkpoints", f)).size > 0)).toBe(true);
}, 180_000);
