// The shipped executable boots a model with Q4_K and Q6_K weights and accepts mutations of them, re-quantizing only the touched super-blocks.
import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dequantize, GgmlType, readGguf, writeGguf } from "../../src/gguf/index.ts";
import { kquantErrorBound } from "../gguf/helpers.ts";
import { kquantBuilt } from "../neural/helpers.ts";
import { shipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { controlMutate, newestCheckpoint, pythonMutate, runJson } from "./shipped-cli.ts";

afterEach(killLeftovers);

const control = controlMutate;
const evolve = pythonMutate;
const pixelOutput = (model: string) => runJson(shipped(["pixels", "--model", model, "--json", "72,101,108", "250,255,0"])).json.output as number[];

/** Writes the k-quant variant of the default model to `path`; returns the base bytes of its k-quant weights. */
function kquantModel(path: string): { q4k: Uint8Array; q6k: Uint8Array } {
  const b = kquantBuilt();
  writeFileSync(path, writeGguf({ metadata: b.metadata, tensors: b.tensors }));
  const data = (n: string) => b.tensors.find((t) => t.name === n)!.data;
  return { q4k: data("pixel.0.weight"), q6k: data("pixel.1.weight") };
}

/**
 * Checks a mutated tensor against its base: every super-block but `block` has the base bytes bit
 * for bit; in `block` the written values read back within the bound and the others moved by no more.
 */
function checkMutated(type: number, bb: number, base: Uint8Array, now: Uint8Array, block: number, at: number, written: number[]): void {
  expect(now.length).toBe(base.length);
  for (let b = 0; b < base.length / bb; b++) {
    if (b === block) continue;
    const same = now.subarray(b * bb, (b + 1) * bb).every((x, i) => x === base[b * bb + i]);
    expect({ b, same }).toEqual({ b, same: true });
  }
  expect(now.subarray(block * bb, (block + 1) * bb).some((x, i) => x !== base[block * bb + i])).toBe(true);
  const was = dequantize({ type, data: base.subarray(block * bb, (block + 1) * bb), nElements: 256 });
  const is = dequantize({ type, data: now.subarray(block * bb, (block + 1) * bb), nElements: 256 });
  const wanted = was.slice();
  wanted.set(written, at - block * 256);
  const limit = kquantErrorBound(type, wanted);
  for (let i = 0; i < 256; i++) expect({ i, within: Math.abs(is[i]! - wanted[i]!) <= limit }).toEqual({ i, within: true });
}

test("Q4_K and Q6_K weights are mutable through the shipped executable (before: such a model was refused at load, and the gate answered UNSUPPORTED_DTYPE): accepted, the checkpoint reads them back within quantization error, other super-blocks bit for bit, a journal replay onto the base gives the same bytes, the gate's rules still apply", async () => {
  const dir = tempDir();
  const model = join(dir, "kquant.gguf");
  const base = kquantModel(model);
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 } });
  const boot = start(["boot", "--config", cfg, "--model", model]);
  await waitFor(() => boot.log().includes("phase heartbeat"), 30_000, "boot up");

  // Q4_K over the control socket: three values inside super-block 37 (elements 9472..9727).
  const q4At = 37 * 256 + 100;
  const q4Values = [0.5, -0.25, 0.125];
  const viaControl = control(join(dir, "run/control"), ["pixel.0.weight", String(q4At), "--values", q4Values.join(","), "--confidence", "0.9"]);
  expect(viaControl.json).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  expect(viaControl.code).toBe(0);

  // Q6_K from the Python client: two values in super-block 9.
  const socket = join(dir, "run/evolution.sock");
  const q6At = 9 * 256 + 200;
  const q6Values = [0.75, -1.5];
  const viaPython = evolve(socket, ["pixel.1.weight", String(q6At), q6Values.join(","), "--confidence", "0.95"]);
  expect(viaPython.json).toMatchObject({ status: "ACCEPTED", journal_seq: 2 });

  // The gate's rules hold for k-quant tensors as for any other.
  const refused: [string[], string][] = [
    [["pixel.0.weight", "0", "--values", "1e9", "--confidence", "0.9"], "MAGNITUDE"],
    [["pixel.1.weight", String(256 * 16 - 1), "--values", "1,2", "--confidence", "0.9"], "OUT_OF_RANGE"],
    [["pixel.0.weight", "0", "--values", "1", "--confidence", "0.5"], "LOW_CONFIDENCE"],
  ];
  for (const [args, reason] of refused) {
    const r = control(join(dir, "run/control"), args);
    expect(r.json).toMatchObject({ statusName: reason, journalSeq: 0 });
  }
  const nan = evolve(socket, ["pixel.0.weight", "0", "nan", "--confidence", "0.95"]);
  expect(nan.json).toMatchObject({ status: "NON_FINITE", journal_seq: 0 });

  process.kill(boot.proc.pid, "SIGTERM");
  const done = await boot.result(30_000);
  expect(done.code).toBe(0);
  expect(done.stderr).toContain("checkpoint written");

  const ckptDir = join(dir, "state/checkpoints");
  const ckptPath = newestCheckpoint(join(dir, "state"));
  const ckpt = readGguf(new Uint8Array(readFileSync(ckptPath)));
  const tensor = (n: string) => ckpt.tensors.find((t) => t.name === n)!;
  expect(tensor("pixel.0.weight").type).toBe(GgmlType.Q4_K);
  expect(tensor("pixel.1.weight").type).toBe(GgmlType.Q6_K);
  checkMutated(GgmlType.Q4_K, 144, base.q4k, tensor("pixel.0.weight").data, 37, q4At, q4Values);
  checkMutated(GgmlType.Q6_K, 210, base.q6k, tensor("pixel.1.weight").data, 9, q6At, q6Values);

  // The executable runs both models' k-quant pixel heads, and the mutation changed the output.
  const before = pixelOutput(model);
  const after = pixelOutput(ckptPath);
  expect(before.length).toBe(16);
  expect(after).not.toEqual(before);

  // Without the checkpoint, the next boot replays the journal onto the base model: re-quantization
  // is deterministic, so its shutdown checkpoint holds the same k-quant bytes.
  for (const f of readdirSync(ckptDir)) rmSync(join(ckptDir, f));
  const replay = await start(["boot", "--config", cfg, "--model", model, "--set", "shutdown_after=0.3"]).result(30_000);
  expect(replay.code).toBe(0);
  expect(replay.stderr).toMatch(/phase evolution .*checkpoint=base replayed=2 /);
  const again = readGguf(new Uint8Array(readFileSync(newestCheckpoint(join(dir, "state")))));
  for (const n of ["pixel.0.weight", "pixel.1.weight"]) {
    expect(Array.from(again.tensors.find((t) => t.name === n)!.data)).toEqual(Array.from(tensor(n).data));
  }
}, 150_000);
