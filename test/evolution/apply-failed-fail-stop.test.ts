// A mutation journaled but failed to apply left the weights and the journal apart: the next checkpoint claimed to cover it without it, and a reboot had it or not depending on which checkpoint verified.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { JournalError } from "../../src/errors.ts";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Weights whose apply of offset 13 throws once (a bug past the gate, as applyMutation failing is). */
class FailsOnce extends F32Store {
  failed = false;
  override applyMutation(name: string, elementOffset: number, values: Float32Array): void {
    if (elementOffset === 13 && !this.failed) {
      this.failed = true;
      throw new Error("injected by the test");
    }
    super.applyMutation(name, elementOffset, values);
  }
}

const weights = (cls: typeof F32Store) => {
  const w = new cls();
  for (const [k, v] of F32Store.synthetic({ "pixel.w": 64 }, 3).tensors) w.tensors.set(k, { dims: v.dims, data: v.data.slice() });
  return w;
};

test("a journaled mutation that failed to apply: evolution stops (no more mutations, no checkpoint claiming it), and the next boot replays it onto the weights", async () => {
  const d = tempDir("vb-apply-failed-");
  dirs.push(d);
  const stateDir = join(d, "state");
  const evo = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => weights(FailsOnce) });
  try {
    expect((await evo.submit({ tensor: "pixel.w", elementOffset: 7, values: Float32Array.of(0.25), confidence: 0.9 })).statusName).toBe("ACCEPTED");
    const bad = await evo.submit({ tensor: "pixel.w", elementOffset: 13, values: Float32Array.of(0.5), confidence: 0.9 });
    expect(bad.statusName).toBe("APPLY_FAILED");
    expect(bad.journalSeq).toBe(2);
    // Nothing more is taken (NOT_TAKEN: the stopped journal never writes it; it was JOURNAL_FAILED,
    // "outcome unknown"), and no checkpoint claims sequence 2 (its weights lack it).
    const later = await evo.submit({ tensor: "pixel.w", elementOffset: 20, values: Float32Array.of(0.75), confidence: 0.9 });
    expect([later.statusName, later.journalSeq, later.text]).toEqual(["NOT_TAKEN", 0, expect.stringContaining("journal stopped: not journaled (mutation 2 is journaled but failed to apply")]);
    expect(await evo.checkpoint().catch((e: unknown) => e)).toBeInstanceOf(JournalError);
  } finally {
    await evo.close().catch(() => {});
  }
  let booted: F32Store | null = null;
  const again = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => (booted = weights(F32Store)) });
  try {
    const w = booted!.tensors.get("pixel.w")!.data;
    expect({ 7: w[7], 13: w[13] }).toEqual({ 7: 0.25, 13: 0.5 });
  } finally {
    await again.close();
  }
}, 60_000);

test("a mutation made durable with one that failed to apply (two submissions in one tick, one batch) was applied and ACCEPTED after evolution stopped: the weights held a state no safety case judged", async () => {
  const d = tempDir("vb-apply-failed-batch-");
  dirs.push(d);
  const stateDir = join(d, "state");
  let live: F32Store | null = null;
  const evo = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => (live = weights(FailsOnce)) });
  try {
    const [bad, after] = await Promise.all([
      evo.submit({ tensor: "pixel.w", elementOffset: 13, values: Float32Array.of(0.5), confidence: 0.9 }),
      evo.submit({ tensor: "pixel.w", elementOffset: 20, values: Float32Array.of(0.75), confidence: 0.9 }),
    ]);
    expect([bad.statusName, bad.journalSeq]).toEqual(["APPLY_FAILED", 1]);
    // Journaled in the same batch: not applied, and said so (the next boot replays it after 13).
    expect([after.statusName, after.journalSeq]).toEqual(["APPLY_FAILED", 2]);
    expect(live!.tensors.get("pixel.w")!.data[20]).not.toBe(0.75);
  } finally {
    await evo.close().catch(() => {});
  }
  let booted: F32Store | null = null;
  const again = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => (booted = weights(F32Store)) });
  try {
    const w = booted!.tensors.get("pixel.w")!.data;
    expect({ 13: w[13], 20: w[20] }).toEqual({ 13: 0.5, 20: 0.75 });
  } finally {
    await again.close();
  }
}, 60_000);

test("a mutation queued behind the batch whose apply failed (submitted while its fdatasync ran) was answered JOURNAL_FAILED (outcome unknown) though the stopped journal never wrote it: NOT_TAKEN, and no boot replays it", async () => {
  const d = tempDir("vb-apply-failed-queued-");
  dirs.push(d);
  const stateDir = join(d, "state");
  const evo = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => weights(FailsOnce) });
  try {
    const bad = evo.submit({ tensor: "pixel.w", elementOffset: 13, values: Float32Array.of(0.5), confidence: 0.9 });
    // One microtask later the first batch is written and its fdatasync runs (off the loop): this one waits for the next batch.
    await Promise.resolve();
    const behind = evo.submit({ tensor: "pixel.w", elementOffset: 20, values: Float32Array.of(0.75), confidence: 0.9 });
    const b = await bad;
    const queued = await behind;
    expect([b.statusName, b.journalSeq]).toEqual(["APPLY_FAILED", 1]);
    expect([queued.statusName, queued.journalSeq]).toEqual(["NOT_TAKEN", 0]);
    expect(queued.text).toStartWith("journal stopped: not journaled (mutation 1 is journaled but failed to apply");
  } finally {
    await evo.close().catch(() => {});
  }
  let booted: F32Store | null = null;
  const again = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => (booted = weights(F32Store)) });
  try {
    expect(again.stats().journalNextSeq).toBe(2);
    expect(booted!.tensors.get("pixel.w")!.data[20]).not.toBe(0.75);
  } finally {
    await again.close();
  }
}, 60_000);
