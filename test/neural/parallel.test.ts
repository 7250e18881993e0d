// Row-split mat-vec across worker threads gives bit-identical outputs, before and after mutations, from a file or shared bytes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dequantize, GgmlType, quantize, readGguf, writeGguf } from "../../src/gguf/index.ts";
import { KernelType, matvec, prepareMatrix } from "../../src/neural/matvec.ts";
import { MatvecPool } from "../../src/neural/matvec-pool.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { seedPixels } from "./helpers.ts";

const root = resolve(import.meta.dir, "../..");
let dir = "";
const models: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-parallel-"));
  for (const type of ["F32", "Q8_0", "Q4_0"]) {
    models[type] = join(dir, `${type}.gguf`);
    const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", models[type]!, "--type", type, "--pixel-hidden", "512,256", "--pixel-outputs", "40"], { stderr: "pipe", timeout: 30_000 });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }
  // k-quants: the F32 model with pixel.1.weight [512, 256] as Q4_K (then the largest weight) and
  // pixel.2.weight [256, 40] as Q6_K; pixel.0.weight [96, 512] (not whole super-blocks) as Q8_0.
  const f32 = readGguf(new Uint8Array(readFileSync(models.F32!)));
  const tensors = f32.tensors.map((t) => {
    const type = ({ "pixel.0.weight": GgmlType.Q8_0, "pixel.1.weight": GgmlType.Q4_K, "pixel.2.weight": GgmlType.Q6_K } as Record<string, number>)[t.name];
    if (type === undefined) return t;
    return { ...t, type, data: quantize(type, dequantize(t)) };
  });
  models.Q4_K = join(dir, "Q4_K.gguf");
  writeFileSync(models.Q4_K, writeGguf({ metadata: f32.metadata, tensors }));
}, 120_000); // three generator runs: seconds each on a loaded 2-core machine
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const same = (a: Float32Array, b: Float32Array) => expect(Array.from(a)).toEqual(Array.from(b));

describe("mat-vec worker pool", () => {
  for (const type of ["F32", "Q8_0", "Q4_0", "Q4_K"]) {
    test(`${type}: a mapped file run on 2 threads gives the same outputs as 1 thread, also after a mutation`, async () => {
      const path = models[type]!;
      const before = readFileSync(path);
      const one = new NeuralRuntime({ threads: 1 });
      await one.init(path);
      // Only the largest weight (pixel.1.weight) is split, so the run counter tracks exactly that matrix.
      const par = new NeuralRuntime({ threads: 2, parallelMinBytes: one.tensor("pixel.1.weight")!.byteLength });
      await par.init(path);
      try {
        expect(par.getStats().workers).toBe(1);
        same(par.executePixels(seedPixels).output, one.executePixels(seedPixels).output);
        expect(par.getStats().parallelRuns).toBeGreaterThan(0);
        for (const rt of [par, one]) rt.applyMutation("pixel.1.weight", 512 * 7 + 3, Float32Array.from([0.9, -0.9, 0.45]));
        // Right after the mutation the workers still hold the old bytes: the product must not use them.
        const runs = par.getStats().parallelRuns;
        same(par.executePixels(seedPixels).output, one.executePixels(seedPixels).output);
        expect(par.getStats().parallelRuns).toBe(runs);
        // Once the workers acknowledge the private copy, products are split again (wait up to 5 s).
        const deadline = performance.now() + 5000;
        while (par.getStats().parallelRuns === runs && performance.now() < deadline) {
          await Bun.sleep(10);
          same(par.executePixels(seedPixels).output, one.executePixels(seedPixels).output);
        }
        expect(par.getStats().parallelRuns).toBeGreaterThan(runs);
      } finally {
        par.cleanup();
        one.cleanup();
      }
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(par.getStats().workers).toBe(0);
    });
  }

  test("model bytes in a SharedArrayBuffer are shared with the workers without a copy", async () => {
    const file = readFileSync(models.F32!);
    const sab = new Uint8Array(new SharedArrayBuffer(file.byteLength));
    sab.set(file);
    const par = new NeuralRuntime({ threads: 3, parallelMinBytes: 1024 });
    const one = new NeuralRuntime({ threads: 1 });
    await par.init(sab);
    one.initSync(new Uint8Array(file));
    expect(par.getStats().workers).toBe(2);
    same(par.executePixels([[1, 2, 3]]).output, one.executePixels([[1, 2, 3]]).output);
    par.cleanup();
  });

  test("bytes in an ordinary ArrayBuffer, or matrices below the size limit, stay on one thread", async () => {
    const rt = new NeuralRuntime({ threads: 2, parallelMinBytes: 1024 });
    await rt.init(new Uint8Array(readFileSync(models.F32!)));
    expect(rt.getStats().workers).toBe(0);
    rt.cleanup();
    const big = new NeuralRuntime({ threads: 2 });
    await big.init(models.F32!);
    expect(big.getStats().workers).toBe(0);
    big.cleanup();
  });
});

describe("mat-vec worker pool failures", () => {
  const m = prepareMatrix(KernelType.F32, 64, 32, new Uint8Array(Float32Array.from({ length: 64 * 32 }, (_, i) => (i % 13) / 13).buffer));
  const x = Float32Array.from({ length: 32 }, (_, i) => i / 32);
  const ref = new Float32Array(64);
  matvec(m, x, ref);
  const shared = () => {
    const b = new Uint8Array(new SharedArrayBuffer(m.bytes.byteLength));
    b.set(m.bytes);
    return { kind: "shared", buffer: b.buffer as SharedArrayBuffer, byteOffset: 0, byteLength: b.byteLength } as const;
  };

  test("a worker that never answers makes start() fail within the timeout instead of hanging", async () => {
    const silent = join(dir, "silent-worker.ts");
    writeFileSync(silent, "self.onmessage = () => {};\n");
    const t0 = performance.now();
    await expect(MatvecPool.start(1, 32, 64, 300, silent)).rejects.toThrow(/did not answer "init" within 300 ms/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  test("a worker that dies during a product: the caller finishes the rows itself, the result is right, the pool stops", async () => {
    const dying = join(dir, "dying-worker.ts");
    writeFileSync(
      dying,
      `let ctl;
self.onmessage = (e) => {
  if (e.data.op === "init") { ctl = new Int32Array(e.data.ctl); (async () => { const w = Atomics.waitAsync(ctl, 0, 0); if (w.async) await w.value; process.exit(3); })(); }
  self.postMessage({ op: "ack", seq: e.data.seq });
};\n`,
    );
    const pool = await MatvecPool.start(1, 32, 64, 300, dying);
    await pool.register(7, m, shared());
    const y = new Float32Array(64);
    pool.matvec(7, m, x, y);
    expect(Array.from(y)).toEqual(Array.from(ref));
    expect(pool.stats.broken).toBe(true);
    expect(pool.stats.fallbacks).toBe(1);
    const y2 = new Float32Array(64);
    pool.matvec(7, m, x, y2);
    expect(Array.from(y2)).toEqual(Array.from(ref));
    pool.close();
  });

  test("a worker that exits between products: the next product waited out the whole pool timeout (a heartbeat stall as PID 1) before computing the rows itself", async () => {
    const leaving = join(dir, "leaving-worker.ts");
    writeFileSync(
      leaving,
      `self.onmessage = (e) => {
  self.postMessage({ op: "ack", seq: e.data.seq });
  if (e.data.op === "register") setTimeout(() => process.exit(0), 0);
};\n`,
    );
    const pool = await MatvecPool.start(1, 32, 64, 3000, leaving);
    await pool.register(8, m, shared());
    // The worker's exit is an event: the pool stops using it then, not at the next product's timeout.
    const end = performance.now() + 10_000;
    while (!pool.stats.broken && performance.now() < end) await Bun.sleep(10);
    expect(pool.stats.broken).toBe(true);
    const y = new Float32Array(64);
    const t0 = performance.now();
    pool.matvec(8, m, x, y);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(Array.from(y)).toEqual(Array.from(ref));
    pool.close();
  }, 20_000);

  test("the real worker computes its rows of a registered matrix", async () => {
    const pool = await MatvecPool.start(2, 32, 64);
    await pool.register(1, m, shared());
    const y = new Float32Array(64);
    pool.matvec(1, m, x, y);
    expect(Array.from(y)).toEqual(Array.from(ref));
    expect(pool.stats.parallelRuns).toBe(1);
    pool.close();
  });
});
