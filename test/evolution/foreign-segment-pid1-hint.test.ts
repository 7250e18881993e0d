// PID 1 booting past a journal segment of another base model told the operator to run `journal verify --repair`, which refuses to cut such a segment: the hint now says to move it out.
import { afterEach, expect, test } from "bun:test";
import { cpSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { segmentFileName } from "../../src/journal/format.ts";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";
import { bootOnce, genModel } from "./lineage-boot.ts";

afterEach(killLeftovers);

/** Boots `model` on `state` as PID 1 until its heartbeat runs, then SIGTERM: the "evolution disabled" line it logged. */
async function disabledLine(model: string, dir: string, state: string): Promise<string> {
  const run = start(["boot", "--model", model, "--set", `state_dir=${state}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("phase heartbeat"), 60_000, "the boot (PID 1 goes on without evolution)");
  process.kill(init, "SIGTERM");
  await run.result(30_000);
  const line = run.log().split("\n").find((l) => l.includes("evolution disabled: the evolution phase failed"));
  expect(line, run.log()).toBeDefined();
  return line!;
}

test("PID 1 refusing another model's journal segment said `run vector-boot journal verify --repair`, which refuses to cut that segment: the hint names the segment to move out (and `verify --repair` still refuses it); a corrupt journal keeps the repair hint", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const b = genModel(join(dir, "b.gguf"), "2");
  const mine = join(dir, "mine");
  const other = join(dir, "other");
  expect((await bootOnce(a, dir, mine, 4.5)).code).toBe(0);
  expect((await bootOnce(b, dir, other, 9.25)).code).toBe(0);
  // Another model's journal/ restored into this state dir (LINEAGE still names model a).
  renameSync(join(mine, "journal"), join(dir, "mine-journal"));
  cpSync(join(other, "journal"), join(mine, "journal"), { recursive: true });
  const foreign = join(mine, "journal", segmentFileName(1));

  const line = await disabledLine(a, dir, mine);
  expect(line).not.toContain("verify --repair` if the journal is damaged");
  expect(line).toContain(`${foreign} is another base model's history, which \`journal verify --repair\` does not remove: move it and that model's other segments out of ${join(mine, "journal")}`);
  expect(line).toContain(`\`vector-boot journal inspect --state ${mine}\``);
  // What the old hint advised does nothing for it: the repair refuses, the segment stays.
  const before = readFileSync(foreign);
  const repair = runShipped(["journal", "verify", "--repair", "--state", mine]);
  expect(repair.code).not.toBe(0);
  expect(readFileSync(foreign)).toEqual(before);

  // Real damage (this model's own segment, its header checksum broken): the repair hint, as before.
  cpSync(join(dir, "mine-journal"), join(mine, "journal"), { recursive: true, force: true });
  const own = join(mine, "journal", segmentFileName(1));
  const bytes = readFileSync(own);
  bytes[60]! ^= 0xff;
  writeFileSync(own, bytes);
  const damaged = await disabledLine(a, dir, mine);
  expect(damaged).toContain("(run `vector-boot journal verify --repair` if the journal is damaged)");
  expect(damaged).toContain("journal corrupt in segment");
}, 240_000);
