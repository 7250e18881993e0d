// Cross-check with gguf-py itself (when a Python with `gguf` is available: $VB_GGUF_PYTHON or python3):
// dequantization of random Q4_K/Q6_K/Q8_0/Q4_0 blocks and quantization to F16/BF16/Q8_0/Q4_0, bit for bit.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dequantize, GgmlType, ggmlTypeInfo, quantize } from "../../src/gguf/index.ts";

const python = process.env.VB_GGUF_PYTHON ?? "python3";
const hasGgufPy = (() => {
  try {
    return Bun.spawnSync([python, "-c", "import gguf, numpy"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
})();
const dir = mkdtempSync(join(tmpdir(), "vb-ggufpy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = String.raw`
import sys, numpy as np
from gguf.quants import dequantize, quantize
from gguf import GGMLQuantizationType as T
out = sys.argv[1]
rng = np.random.default_rng(20261123)
for name, t, ts, halves in [("Q4_K", T.Q4_K, 144, [0, 2]), ("Q6_K", T.Q6_K, 210, [208]), ("Q8_0", T.Q8_0, 34, [0]), ("Q4_0", T.Q4_0, 18, [0])]:
    blocks = rng.integers(0, 256, size=(64, ts), dtype=np.uint8)
    for p in halves: blocks[:, p + 1] &= 0x3b  # finite scales
    blocks.tofile(f"{out}/{name}.blocks")
    dequantize(blocks.reshape(-1), t).astype(np.float32).tofile(f"{out}/{name}.deq")
x = (rng.standard_normal(32 * 512) * rng.choice([1e-3, 1, 100], 32 * 512)).astype(np.float32)
x[:32] = 0
x[32:64] = np.float32(0.5) * np.arange(32, dtype=np.float32)  # exact halves: rounding ties
x.tofile(f"{out}/x.f32")
for name, t in [("F16", T.F16), ("BF16", T.BF16), ("Q8_0", T.Q8_0), ("Q4_0", T.Q4_0)]:
    np.asarray(quantize(x, t)).view(np.uint8).tofile(f"{out}/{name}.q")
`;

test.skipIf(!hasGgufPy)("dequantize and quantize agree bit for bit with gguf-py on random blocks and values", async () => {
  const r = Bun.spawnSync([python, "-c", script, dir], { stderr: "pipe", timeout: 60_000 });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  for (const t of [GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const info = ggmlTypeInfo(t)!;
    const data = await Bun.file(join(dir, `${info.name}.blocks`)).bytes();
    const ref = new Float32Array(await Bun.file(join(dir, `${info.name}.deq`)).arrayBuffer());
    const ours = dequantize({ type: t, data, nElements: 64 * info.blockSize });
    expect(ours.length).toBe(ref.length);
    let mismatches = 0;
    for (let i = 0; i < ref.length; i++) if (!Object.is(ours[i], ref[i])) mismatches++;
    expect(`${info.name}: ${mismatches} mismatches`).toBe(`${info.name}: 0 mismatches`);
  }
  const x = new Float32Array(await Bun.file(join(dir, "x.f32")).arrayBuffer());
  for (const t of [GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const name = ggmlTypeInfo(t)!.name;
    const ref = await Bun.file(join(dir, `${name}.q`)).bytes();
    expect(Buffer.from(quantize(t, x)).equals(Buffer.from(ref))).toBe(true);
  }
});
