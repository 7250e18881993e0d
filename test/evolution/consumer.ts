// Test/bench consumer process: owns the channel, the journal and a stand-in F32 weight store; driven by stdin lines.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { F32Store } from "./f32-store.ts";
import type { TensorInfo } from "../../src/evolution/weights.ts";
import { setLogLevel } from "../../src/log.ts";

/** The stand-in model: pixel/cortex heads, a protected kernel.* tensor, one "quantized" tensor the gate must refuse. */
export const BASE_SPEC = { "pixel.w": 4096, "pixel.bias": 64, "cortex.w": 1024, "kernel.irq_threshold": 16, "pixel.q8": 256 };
export const BASE_SEED = 7;

class StandIn extends F32Store {
  override tensorInfo(name: string): TensorInfo | undefined {
    const i = super.tensorInfo(name);
    return i && name === "pixel.q8" ? { ...i, type: "Q8_0" } : i;
  }
}
/** Loads the stand-in weights from a checkpoint GGUF, or the synthetic base when `path` is null. */
export function loadStandIn(path: string | null): StandIn {
  const s = new StandIn();
  const src = path ? F32Store.fromGguf(readFileSync(path)) : F32Store.synthetic(BASE_SPEC, BASE_SEED);
  for (const [k, v] of src.tensors) s.tensors.set(k, v);
  return s;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

if (import.meta.main) {
  setLogLevel(process.env.VB_LOG === "debug" ? "debug" : "warn");
  const stateDir = arg("state", "/tmp/vb-state");
  const runDir = arg("run", "/tmp/vb-run");
  const beatMs = Number(arg("beat-ms", "100"));
  const checkpointMs = Number(arg("checkpoint-ms", "0"));
  const evo = await openEvolution({
    stateDir,
    runDir,
    loadWeights: loadStandIn,
    autoDrain: arg("auto-drain", "1") === "1",
    rings: Number(arg("rings", "8")),
    slots: Number(arg("slots", "64")),
    compact: arg("compact", "1") === "1",
  });
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o, (_, v) => (typeof v === "bigint" ? String(v) : v))}\n`);
  setInterval(() => evo.drain(256), beatMs);
  let checkpointing = false;
  if (checkpointMs > 0) {
    setInterval(() => {
      if (checkpointing) return;
      checkpointing = true;
      evo.checkpoint().finally(() => (checkpointing = false));
    }, checkpointMs);
  }
  out({ ready: true, socket: evo.socketPath, checksum: evo.weights.checksum(), stats: evo.stats() });
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, ...a] = line.trim().split(/\s+/);
    if (cmd === "stats") out({ checksum: evo.weights.checksum(), stats: evo.stats() });
    else if (cmd === "dump") {
      const t = evo.weights.tensors.get(a[0]!);
      out({ values: t ? Array.from(t.data.subarray(Number(a[1]), Number(a[1]) + Number(a[2]))) : null });
    } else if (cmd === "checkpoint") out({ checkpoint: await evo.checkpoint() });
    else if (cmd === "quit") break;
  }
  await evo.close();
  out({ closed: true, checksum: evo.weights.checksum() });
  process.exit(0);
}
