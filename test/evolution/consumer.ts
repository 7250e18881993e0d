// Test/bench consumer process: owns the channel, the journal and the weights (a stand-in F32 store, or the real NeuralRuntime with --model); driven by stdin lines.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { runtimeGgufExporter, runtimeWeights } from "../../src/evolution/runtime-weights.ts";
import { F32Store } from "./f32-store.ts";
import type { CheckpointableWeights, TensorInfo } from "../../src/evolution/weights.ts";
import { crc32cUpdate } from "../../src/journal/crc32c.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
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

/** CRC32C over every tensor's name and current values, in the model's order: equal weights give equal checksums. */
export function runtimeChecksum(rt: NeuralRuntime): number {
  const enc = new TextEncoder();
  let c = 0;
  for (const name of rt.tensorNames()) {
    const v = rt.readTensor(name);
    c = crc32cUpdate(c, enc.encode(name));
    c = crc32cUpdate(c, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return c;
}

/** The weights behind the consumer: what it mutates, how it is summed and read back. */
interface Backend {
  loadWeights(checkpoint: string | null): Promise<CheckpointableWeights>;
  checksum(): number;
  read(tensor: string, offset: number, count: number): number[] | null;
}

function standInBackend(): Backend {
  let w: ReturnType<typeof loadStandIn> | null = null;
  return {
    loadWeights: async (p) => (w = loadStandIn(p)),
    checksum: () => w!.checksum(),
    read: (t, o, n) => {
      const x = w!.tensors.get(t);
      return x ? Array.from(x.data.subarray(o, o + n)) : null;
    },
  };
}

/** The real NeuralRuntime over `model` (a GGUF; checkpoints are loaded the way the init loads them). */
function runtimeBackend(model: string): Backend {
  const rt = new NeuralRuntime({ threads: 1 });
  return {
    async loadWeights(p) {
      await rt.init(p ?? model);
      return runtimeWeights(rt, runtimeGgufExporter(rt));
    },
    checksum: () => runtimeChecksum(rt),
    read: (t, o, n) => (rt.tensor(t) ? Array.from(rt.readTensor(t, o, n)) : null),
  };
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
  const model = arg("model", "");
  const segmentBytes = Number(arg("segment-bytes", "0"));
  const backend = model ? runtimeBackend(model) : standInBackend();
  const evo = await openEvolution({
    stateDir,
    runDir,
    loadWeights: backend.loadWeights,
    ...(segmentBytes > 0 ? { journal: { segmentBytes } } : {}),
    autoDrain: arg("auto-drain", "1") === "1",
    rings: Number(arg("rings", "8")),
    slots: Number(arg("slots", "64")),
    compact: arg("compact", "1") === "1",
    // The stand-in's "quantized" tensor is F32 data under a Q8_0 label: the gate must refuse its type.
    ...(model ? {} : { gate: { supportedTypes: ["F32", "F16", "BF16"] } }),
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
  out({ ready: true, socket: evo.socketPath, checksum: backend.checksum(), stats: evo.stats() });
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, ...a] = line.trim().split(/\s+/);
    if (cmd === "stats") out({ checksum: backend.checksum(), stats: evo.stats() });
    else if (cmd === "dump") out({ values: backend.read(a[0]!, Number(a[1]), Number(a[2])) }); else if (cmd === "checkpoint") out({ checkpoint: await evo.checkpoint() });
    else if (cmd === "quit") break;
  }
  await evo.close();
  out({ closed: true, checksum: backend.checksum() });
  process.exit(0);
}
