// Another model's journal/ copied into a state dir whose LINEAGE names this model: its mutations were replayed onto this model's weights.
import { afterEach, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { readGguf } from "../../src/gguf/reader.ts";
import { crc32c } from "../../src/journal/crc32c.ts";
import { segmentFileName } from "../../src/journal/format.ts";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootOnce, genModel, sha256Of } from "./lineage-boot.ts";
import { newestCheckpoint } from "./shipped-cli.ts";

afterEach(killLeftovers);

const bias0 = (gguf: string) => new Float32Array(new Uint8Array(readGguf(new Uint8Array(readFileSync(gguf))).tensorByName("pixel.1.bias")!.data).buffer)[0];

/** Every file under `dir` (the state dir's LOCK aside: each holder writes its pid in it) and its bytes. */
function files(dir: string, under = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(under, { withFileTypes: true })) {
    const p = join(under, e.name);
    if (e.isDirectory()) Object.assign(out, files(dir, p));
    else if (relative(dir, p) !== "LOCK") out[relative(dir, p)] = readFileSync(p).toString("base64");
  }
  return out;
}

test("journal segments copied from another model's state dir (journal/ only, this state dir's LINEAGE kept) were replayed onto this model's weights at boot: refused (74) naming the segment and both SHA-256s, nothing moved or deleted, and this model's own history boots again once put back", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const b = genModel(join(dir, "b.gguf"), "2");
  const mine = join(dir, "mine");
  const other = join(dir, "other");
  // This model's history: one acknowledged mutation (sequence 1), in its journal and its shutdown checkpoint.
  const own = await bootOnce(a, dir, mine, 4.5);
  expect(own.code).toBe(0);
  expect(own.mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  expect((await bootOnce(b, dir, other, 9.25)).code).toBe(0);
  // Someone restores the other model's journal/ into this state dir (a backup of the wrong machine).
  renameSync(join(mine, "journal"), join(dir, "mine-journal"));
  cpSync(join(other, "journal"), join(mine, "journal"), { recursive: true });
  expect(readFileSync(join(mine, "LINEAGE"), "utf8").trim()).toBe(sha256Of(a));
  const before = files(mine);

  const refused = await bootOnce(a, dir, mine, 5.5);
  expect(refused.mutated).toBeUndefined(); // nothing acknowledged over the other model's history
  expect(refused.code).toBe(74);
  expect(refused.stderr).toContain(`journal segment ${join(mine, "journal", segmentFileName(1))} belongs to another base model`);
  expect(refused.stderr).toContain(`segment records lineage ${sha256Of(b)}, expected ${sha256Of(a)}`);
  expect(refused.stderr).not.toContain("base model changed");
  // Nothing moved, cut or deleted: no archive, every file as it was.
  expect(existsSync(join(mine, "lineages"))).toBe(false);
  expect(files(mine)).toEqual(before);
  // `journal verify` says why the boot refuses.
  const v = runShipped(["journal", "verify", "--state", mine]);
  expect(v.code).toBe(65);
  expect(v.stdout).toContain("FOREIGN (another base model's history");

  // This model's own journal put back: its acknowledged mutation is what boots, the checkpoint untouched.
  rmSync(join(mine, "journal"), { recursive: true });
  renameSync(join(dir, "mine-journal"), join(mine, "journal"));
  const again = await bootOnce(a, dir, mine);
  expect(again.code).toBe(0);
  expect(again.stderr).toMatch(/phase evolution .*checkpoint=\S+ckpt-\d+\.gguf/);
  expect(bias0(newestCheckpoint(mine))).toBe(4.5);
  const inspect = JSON.parse(runShipped(["journal", "inspect", "--json", "--state", mine]).stdout);
  expect(inspect.mutations).toBe(1);
  expect(inspect.segments[0].lineage).toBe(sha256Of(a));
}, 180_000);

test("a state dir from an image before segments recorded their lineage (a version-1 segment, 32-byte header) keeps booting with its acknowledged history, replayed; what is journaled after goes into a segment that records the lineage", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const state = join(dir, "state");
  expect((await bootOnce(a, dir, state, 4.5)).code).toBe(0);
  // The segment as the earlier image wrote it: its records behind a version-1 header.
  const seg = join(state, "journal", segmentFileName(1));
  const v2 = readFileSync(seg);
  const h = new Uint8Array(32);
  const v = new DataView(h.buffer);
  h.set(v2.subarray(0, 8), 0); // the magic
  v.setUint32(8, 1, true);
  v.setUint32(12, 32, true);
  h.set(v2.subarray(16, 24), 16); // first sequence
  v.setUint32(28, crc32c(h, 0, 28), true);
  writeFileSync(seg, Buffer.concat([h, v2.subarray(64)]));
  // No checkpoint: the mutation comes back from the version-1 segment alone.
  rmSync(join(state, "checkpoints"), { recursive: true });
  const r = await bootOnce(a, dir, state, 5.5);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/phase evolution .*checkpoint=base replayed=1/);
  expect(r.mutated).toMatchObject({ statusName: "ACCEPTED" });
  expect(r.mutated!.journalSeq as number).toBeGreaterThan(2);
  const inspect = JSON.parse(runShipped(["journal", "inspect", "--json", "--state", state]).stdout);
  expect(inspect.damage).toBeNull();
  expect(inspect.mutations).toBe(2);
  expect(inspect.segments.map((s: { version: number; lineage: string | null }) => [s.version, s.lineage])).toEqual([
    [1, null],
    [2, sha256Of(a)],
  ]);
  expect(bias0(newestCheckpoint(state))).toBe(5.5);
}, 120_000);
