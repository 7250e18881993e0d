// CTRM safety bench: gate time and ack latency of a cortex mutation with and without the safety-case evaluation, same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ctrmGate, defaultGateConfig } from "../src/evolution/ctrm-gate.ts";
import { type Evolution, openEvolution } from "../src/evolution/evolution.ts";
import { statusName } from "../src/evolution/reasons.ts";
import { runtimeGgufExporter, runtimeWeights } from "../src/evolution/runtime-weights.ts";
import { SafetyGate } from "../src/evolution/safety-gate.ts";
import type { Mutation } from "../src/evolution/slot-codec.ts";
import type { CheckpointableWeights } from "../src/evolution/weights.ts";
import { encodeModel } from "../src/neural/export.ts";
import { NeuralRuntime } from "../src/neural/runtime.ts";
import { buildVectorland } from "../src/neural/vectorland-builder.ts";
import { tsProducer } from "../test/evolution/ts-producer.ts";
import { percentile as pct } from "./stats.ts";

const GATE_N = Number(process.env.VB_BENCH_GATE ?? 5000);
const ACK_N = Number(process.env.VB_BENCH_ACK ?? 500);
const root = mkdtempSync(join(process.env.VB_BENCH_DIR ?? tmpdir(), "vb-bench-ctrm-"));

const fmt = (x: number) => `${(x * 1000).toFixed(1)} µs`;

function runtime(): NeuralRuntime {
  const b = buildVectorland();
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(new Uint8Array(Buffer.concat([...encodeModel(b.metadata, b.tensors)])));
  return rt;
}

/** Benign cortex mutations: input weights of the dormant hidden units 20..31 (their outgoing weights are zero). */
const benign = (i: number): Mutation => ({ tensor: "cortex.0.weight", elementOffset: (20 + (i % 12)) * 32 + (i % 30), values: Float32Array.of(((i % 17) - 8) / 10, 0.125), confidence: 0.9 });

function gateTimes(weights: CheckpointableWeights, n: number): { lat: number[]; evaluated: number } {
  const cfg = defaultGateConfig();
  const g = new SafetyGate(weights);
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = benign(i);
    const t = performance.now();
    if (ctrmGate(m, weights, cfg).status !== 0) throw new Error("benign mutation refused by the gate");
    const s = g.admit(m);
    lat.push(performance.now() - t);
    if (s.verdict.status !== 0) throw new Error(`benign mutation refused: ${s.verdict.text}`);
    if (s.ticket) g.settle();
  }
  return { lat, evaluated: g.stats.evaluated };
}

async function open(name: string, weights: CheckpointableWeights): Promise<Evolution<CheckpointableWeights>> {
  return openEvolution({ stateDir: join(root, name, "state"), runDir: join(root, name, "run"), loadWeights: () => weights });
}

try {
  const withRt = runtime();
  const withW = runtimeWeights(withRt, runtimeGgufExporter(withRt));
  const withoutRt = runtime();
  const withoutW: CheckpointableWeights = { ...runtimeWeights(withoutRt, runtimeGgufExporter(withoutRt)), safety: null };
  const cases = withW.safety?.cases ?? 0;
  if (cases === 0 || withoutW.safety !== null) throw new Error("no reference: the model must carry safety cases and the reference must not");

  // 1. The gate alone (CPU): ctrmGate + safety admission, interleaved in blocks to share the machine's state.
  const gw: number[] = [];
  const go: number[] = [];
  let evaluated = 0;
  for (let b = 0; b < 10; b++) {
    const a = gateTimes(withW, GATE_N / 10);
    gw.push(...a.lat);
    evaluated += a.evaluated;
    const o = gateTimes(withoutW, GATE_N / 10);
    go.push(...o.lat);
    if (o.evaluated !== 0) throw new Error("the reference evaluated safety cases");
  }
  if (evaluated !== gw.length) throw new Error(`only ${evaluated} of ${gw.length} mutations were evaluated on the cases`);

  // 2. Ack latency through a ring (TS producer, real journal with fsync), one mutation at a time, alternating.
  const evoWith = await open("with", withW);
  const evoWithout = await open("without", withoutW);
  const pw = await tsProducer(evoWith.socketPath);
  const po = await tsProducer(evoWithout.socketPath);
  const aw: number[] = [];
  const ao: number[] = [];
  for (let i = 0; i < ACK_N; i++) {
    for (const [p, lat] of [[pw, aw], [po, ao]] as const) {
      const t = performance.now();
      const [c] = await p.submit([benign(i)]);
      lat.push(performance.now() - t);
      if (c!.status !== 0) throw new Error(`ack ${statusName[c!.status]}: ${c!.text}`);
    }
  }
  pw.close();
  po.close();
  const sw = evoWith.stats().safety;
  const so = evoWithout.stats().safety;
  await evoWith.close();
  await evoWithout.close();
  if (sw.evaluated !== ACK_N || so.evaluated !== 0) throw new Error(`safety evaluated ${sw.evaluated}/${so.evaluated} times, expected ${ACK_N}/0`);

  console.log(`safety cases: ${cases} (default model), benign cortex mutations (2 values each); disk: ${root}`);
  console.log(`gate (ctrmGate + safety), ${GATE_N} mutations:`);
  console.log(`  with cases     p50 ${fmt(pct(gw, 50))}  p99 ${fmt(pct(gw, 99))}`);
  console.log(`  without        p50 ${fmt(pct(go, 50))}  p99 ${fmt(pct(go, 99))}`);
  console.log(`  ratio p50      ${(pct(gw, 50) / pct(go, 50)).toFixed(1)}x  (added ${fmt(pct(gw, 50) - pct(go, 50))} per cortex mutation)`);
  console.log(`ack latency through a ring (journal fsync included), ${ACK_N} mutations each, alternating:`);
  console.log(`  with cases     p50 ${pct(aw, 50).toFixed(3)} ms  p99 ${pct(aw, 99).toFixed(3)} ms`);
  console.log(`  without        p50 ${pct(ao, 50).toFixed(3)} ms  p99 ${pct(ao, 99).toFixed(3)} ms`);
  console.log(`  ratio p50      ${(pct(aw, 50) / pct(ao, 50)).toFixed(3)}x   ratio p99 ${(pct(aw, 99) / pct(ao, 99)).toFixed(3)}x`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
