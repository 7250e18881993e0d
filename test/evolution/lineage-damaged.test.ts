// A damaged LINEAGE file (emptied, overwritten) beside the journal: refused, never taken for "no lineage".
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootOnce, genModel, sha256Of } from "./lineage-boot.ts";

afterEach(killLeftovers);

test("an emptied LINEAGE file was taken for no lineage: the acknowledged history was archived as unrecorded-1 and the boot came up on the bare base, handing out sequence 1 again; now refused (74) naming the file, the history left in place", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const a = genModel(join(dir, "a.gguf"), "1");
  const first = await bootOnce(a, dir, state, 4.5);
  expect(first.code).toBe(0);
  expect(first.mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  for (const damaged of ["", "not a sha\n"]) {
    writeFileSync(join(state, "LINEAGE"), damaged);
    const again = await bootOnce(a, dir, state, 5.5);
    expect(again.stderr).not.toContain("base model changed");
    expect(again.mutated).toBeUndefined(); // nothing acknowledged over the wrong history
    expect(again.code).toBe(74);
    expect(again.stderr).toContain(`lineage: ${join(state, "LINEAGE")} holds no SHA-256`);
    expect(again.stderr).toContain(`write ${sha256Of(a)} into it`);
    // Nothing moved: no archive, the journal and its acknowledged mutation where they were.
    expect(existsSync(join(state, "lineages"))).toBe(false);
    expect(readdirSync(join(state, "journal")).filter((f) => f.endsWith(".vbj")).length).toBe(1);
  }
  // The operator's way out: the right SHA-256 written back, the history resumes (its mutation, sequence 1, kept).
  writeFileSync(join(state, "LINEAGE"), `${sha256Of(a)}\n`);
  const fixed = await bootOnce(a, dir, state, 6.5);
  expect(fixed.code).toBe(0);
  expect(fixed.mutated).toMatchObject({ statusName: "ACCEPTED" });
  expect(fixed.mutated!.journalSeq as number).toBeGreaterThan(1);
  const inspect = JSON.parse(runShipped(["journal", "inspect", "--json", "--state", state]).stdout);
  expect(inspect.mutations).toBe(2);
}, 150_000);

test("`journal verify` said OK (exit 0, 'the boot would load ...') for a state dir whose LINEAGE was emptied, which the boot refuses (74): it now says CANNOT BOOT naming the file, exit 65", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const a = genModel(join(dir, "a.gguf"), "1");
  expect((await bootOnce(a, dir, state, 4.5)).code).toBe(0);
  const good = runShipped(["journal", "verify", "--state", state]);
  expect(good.code).toBe(0);
  writeFileSync(join(state, "LINEAGE"), "");
  const r = runShipped(["journal", "verify", "--state", state]);
  expect(r.stdout).toContain(`CANNOT BOOT: lineage: ${join(state, "LINEAGE")} holds no SHA-256`);
  expect(r.stdout).not.toContain("the boot would load");
  expect(r.code).toBe(65);
  const json = JSON.parse(runShipped(["journal", "verify", "--json", "--state", state]).stdout);
  expect(json.ok).toBe(false);
  expect(json.historyProblem).toContain("holds no SHA-256");
}, 120_000);
