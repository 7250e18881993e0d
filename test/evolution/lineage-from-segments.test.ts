// A state dir without LINEAGE whose journal segments name their model (version 2) was archived as lineages/unrecorded-N like pre-lineage history: the booting model's own acknowledged mutations were set aside.
import { afterEach, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readGguf } from "../../src/gguf/reader.ts";
import { crc32c } from "../../src/journal/crc32c.ts";
import { segmentFileName } from "../../src/journal/format.ts";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootOnce, genModel, sha256Of } from "./lineage-boot.ts";
import { newestCheckpoint } from "./shipped-cli.ts";

afterEach(killLeftovers);

const bias0 = (gguf: string) => new Float32Array(new Uint8Array(readGguf(new Uint8Array(readFileSync(gguf))).tensorByName("pixel.1.bias")!.data).buffer)[0];
const lineageFile = (state: string) => readFileSync(join(state, "LINEAGE"), "utf8").trim();
const inspect = (state: string) => JSON.parse(runShipped(["journal", "inspect", "--json", "--state", state]).stdout) as { mutations: number; lastSeq: number; damage: unknown };

test("LINEAGE lost beside segments that name the booting model: the history was archived as lineages/unrecorded-1 and the boot started on the bare base, handing out the acknowledged sequence again; it is resumed (LINEAGE written, checkpoint loaded, the journal goes on)", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const state = join(dir, "state");
  const first = await bootOnce(a, dir, state, 4.5);
  expect(first.mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  rmSync(join(state, "LINEAGE"));

  const r = await bootOnce(a, dir, state, 5.5);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain("base model changed");
  expect(r.stderr).toMatch(/phase evolution .*checkpoint=\S+ckpt-\d+\.gguf/);
  // Sequence 1 was acknowledged before: the next mutation comes after it, never as 1 again.
  expect(r.mutated).toMatchObject({ statusName: "ACCEPTED" });
  expect(r.mutated!.journalSeq as number).toBeGreaterThan(1);
  expect(existsSync(join(state, "lineages"))).toBe(false);
  expect(lineageFile(state)).toBe(sha256Of(a));
  expect(inspect(state)).toMatchObject({ mutations: 2, damage: null });
  expect(bias0(newestCheckpoint(state))).toBe(5.5);
}, 180_000);

test("LINEAGE lost beside segments that name another model: archived as lineages/unrecorded-1, which that model never resumes; archived under lineages/<its sha>/ (LINEAGE with it), and that model's next boot resumes its acknowledged history", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const b = genModel(join(dir, "b.gguf"), "2");
  const state = join(dir, "state");
  expect((await bootOnce(b, dir, state, 9.25)).mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  rmSync(join(state, "LINEAGE"));

  const onA = await bootOnce(a, dir, state, 4.5);
  expect(onA.code).toBe(0);
  // Model a starts its own history: nothing of b's replayed onto it.
  expect(onA.stderr).toMatch(/phase evolution .*checkpoint=base replayed=0/);
  expect(onA.mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  expect(readdirSync(join(state, "lineages"))).toEqual([sha256Of(b)]);
  const archive = join(state, "lineages", sha256Of(b));
  expect(lineageFile(archive)).toBe(sha256Of(b));
  expect(inspect(archive)).toMatchObject({ mutations: 1, damage: null });
  expect(lineageFile(state)).toBe(sha256Of(a));

  // Model b again: its own history comes back (its checkpoint, its journal), a's is archived in turn.
  const onB = await bootOnce(b, dir, state, 7.75);
  expect(onB.code).toBe(0);
  expect(onB.stderr).toMatch(/phase evolution .*checkpoint=\S+ckpt-\d+\.gguf/);
  expect(onB.mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 3 });
  expect(lineageFile(state)).toBe(sha256Of(b));
  expect(readdirSync(join(state, "lineages"))).toEqual([sha256Of(a)]);
  expect(bias0(newestCheckpoint(state))).toBe(7.75);
}, 240_000);

/** Rewrites `seg` as an image before segment lineages wrote it: its records behind a version-1 header (32 bytes, no lineage). */
function toVersion1(seg: string): void {
  const v2 = readFileSync(seg);
  const h = new Uint8Array(32);
  const v = new DataView(h.buffer);
  h.set(v2.subarray(0, 8), 0);
  v.setUint32(8, 1, true);
  v.setUint32(12, 32, true);
  h.set(v2.subarray(16, 24), 16);
  v.setUint32(28, crc32c(h, 0, 28), true);
  writeFileSync(seg, Buffer.concat([h, v2.subarray(64)]));
}

test("LINEAGE lost in a state dir upgraded from version-1 segments (then version-2 ones naming the booting model, as the journal writes them): archived as unrecorded-1 with both acknowledged mutations; resumed, both replayed", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const state = join(dir, "state");
  expect((await bootOnce(a, dir, state, 4.5)).code).toBe(0);
  toVersion1(join(state, "journal", segmentFileName(1)));
  rmSync(join(state, "checkpoints"), { recursive: true });
  // The upgraded image goes on in a version-2 segment.
  expect((await bootOnce(a, dir, state, 5.5)).code).toBe(0);
  rmSync(join(state, "LINEAGE"));
  rmSync(join(state, "checkpoints"), { recursive: true });

  const r = await bootOnce(a, dir, state);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/phase evolution .*checkpoint=base replayed=2/);
  expect(existsSync(join(state, "lineages"))).toBe(false);
  expect(lineageFile(state)).toBe(sha256Of(a));
}, 180_000);

test("no LINEAGE and segments that name two models (another model's segment copied in): neither model's history to resume or to file under its name; archived as unrecorded-1, nothing replayed", async () => {
  const dir = tempDir();
  const a = genModel(join(dir, "a.gguf"), "1");
  const b = genModel(join(dir, "b.gguf"), "2");
  const state = join(dir, "state");
  const other = join(dir, "other");
  expect((await bootOnce(a, dir, state, 4.5)).code).toBe(0);
  expect((await bootOnce(b, dir, other, 9.25)).code).toBe(0);
  copyFileSync(join(other, "journal", segmentFileName(1)), join(state, "journal", segmentFileName(3)));
  rmSync(join(state, "LINEAGE"));

  const r = await bootOnce(a, dir, state, 5.5);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/phase evolution .*checkpoint=base replayed=0/);
  expect(r.mutated).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  expect(readdirSync(join(state, "lineages"))).toEqual(["unrecorded-1"]);
  expect(lineageFile(state)).toBe(sha256Of(a));
}, 180_000);
