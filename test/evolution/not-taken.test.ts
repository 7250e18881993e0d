// Mutations the consumer did not take (nothing journaled, nothing changed) were answered JOURNAL_FAILED, which also means "the outcome is unknown": now NOT_TAKEN (17).
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { runAsync, shippedPython } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Weights whose lookup of `pixel.gone` throws (a model unloaded under the gate, say): the gate cannot judge a mutation of it. */
class LosesATensor extends F32Store {
  override tensorInfo(name: string) {
    if (name === "pixel.gone") throw new Error("tensor table unmapped (injected by the test)");
    return super.tensorInfo(name);
  }
}

function weights(cls: typeof F32Store): F32Store {
  const w = new cls();
  for (const [k, v] of F32Store.synthetic({ "pixel.w": 64 }, 3).tensors) w.tensors.set(k, { dims: v.dims, data: v.data.slice() });
  return w;
}

function fresh(prefix: string): { stateDir: string; runDir: string } {
  const d = tempDir(prefix);
  dirs.push(d);
  return { stateDir: join(d, "state"), runDir: join(d, "run") };
}

const mutation = (elementOffset: number, value: number) => ({ tensor: "pixel.w", elementOffset, values: Float32Array.of(value), confidence: 0.9 });

test("a mutation refused because evolution is closed was reported as JOURNAL_FAILED (outcome unknown): it is NOT_TAKEN, and the journal holds nothing of it", async () => {
  const d = fresh("vb-not-taken-closed-");
  const evo = await openEvolution({ ...d, rings: 1, slots: 4, loadWeights: () => weights(F32Store) });
  expect((await evo.submit(mutation(1, 0.25))).statusName).toBe("ACCEPTED");
  await evo.close();
  const late = await evo.submit(mutation(2, 0.5));
  expect(late).toEqual({ status: 17, statusName: "NOT_TAKEN", journalSeq: 0, text: "evolution is closed" });
  // Nothing journaled: the next open replays the one accepted mutation and no more.
  let booted: F32Store | null = null;
  const again = await openEvolution({ ...d, rings: 1, slots: 4, loadWeights: () => (booted = weights(F32Store)) });
  try {
    expect(again.stats().journalNextSeq).toBe(2);
    const w = booted!.tensors.get("pixel.w")!.data;
    expect([w[1], w[2]]).toEqual([0.25, weights(F32Store).tensors.get("pixel.w")!.data[2]!]);
  } finally {
    await again.close();
  }
}, 60_000);

test("a mutation the gate could not judge (its weights threw) reached the real Python client as JOURNAL_FAILED (outcome unknown) and vb-evolve exited 1 as for a refusal: it is NOT_TAKEN (not_taken), vb-evolve exits 75 (try again), 1 when a refusal is among the answers", async () => {
  const d = fresh("vb-not-taken-judge-");
  const evo = await openEvolution({ ...d, rings: 2, slots: 4, loadWeights: () => weights(LosesATensor) });
  try {
    const script = `
import json, sys
from vector_boot_evolution import Client
with Client(sys.argv[1], 30) as c:
    out = [c.mutate(t, 0, [0.5], 0.95) for t in ("pixel.gone", "pixel.w")]
print(json.dumps([[x.status, x.status_name, x.not_taken, x.journal_seq, x.text] for x in out]))
`;
    const env = { ...process.env, PYTHONPATH: shippedPython };
    const r = await runAsync([python, "-c", script, evo.socketPath], { env, timeoutMs: 60_000 });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    // The slot's text is 32 ASCII bytes: "not judged: tensor table unmappe".
    expect(JSON.parse(r.out)).toEqual([
      [17, "NOT_TAKEN", true, 0, "not judged: tensor table unmappe"],
      [0, "ACCEPTED", false, 1, ""],
    ]);
    const vb = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.cli", "--socket", evo.socketPath, "--timeout", "30", ...args], { env, timeoutMs: 60_000 });
    const one = await vb(["mutate", "pixel.gone", "0", "0.5", "--confidence", "0.95"]);
    expect({ code: one.code, status: JSON.parse(one.out).status }).toEqual({ code: 75, status: "NOT_TAKEN" });
    // A refusal among them is not "try again": 1, as before.
    const batch = join(d.stateDir, "..", "batch.jsonl");
    writeFileSync(batch, ['{"tensor":"pixel.gone","offset":0,"values":[0.5],"confidence":0.95}', '{"tensor":"pixel.w","offset":0,"values":[0.5],"confidence":0.5}', ""].join("\n"));
    const mixed = await vb(["batch", batch]);
    expect({ code: mixed.code, statuses: mixed.out.trim().split("\n").map((l) => JSON.parse(l).status) }).toEqual({ code: 1, statuses: ["NOT_TAKEN", "LOW_CONFIDENCE"] });
    expect(evo.stats().rejected).toEqual({ NOT_TAKEN: 3, LOW_CONFIDENCE: 1 });
    expect(evo.stats().journalNextSeq).toBe(2);
  } finally {
    await evo.close();
  }
}, 90_000);

test("a mutation submitted directly (the control socket's path) after evolution stopped taking (stopTaking, a live re-exec's quiesce) was journaled and applied anyway: it is NOT_TAKEN, and the journal holds nothing of it", async () => {
  const d = fresh("vb-not-taken-paused-");
  const evo = await openEvolution({ ...d, rings: 1, slots: 4, loadWeights: () => weights(F32Store) });
  try {
    expect((await evo.submit(mutation(1, 0.25))).statusName).toBe("ACCEPTED");
    await evo.stopTaking();
    const late = await evo.submit(mutation(2, 0.5));
    expect({ status: late.statusName, seq: late.journalSeq, next: evo.stats().journalNextSeq }).toEqual({ status: "NOT_TAKEN", seq: 0, next: 2 });
    expect(late.text).toContain("takes nothing now");
  } finally {
    await evo.close();
  }
}, 60_000);
