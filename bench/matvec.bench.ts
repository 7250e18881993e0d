// 4096x4096 mat-vec per type: GB/s of weights read by our kernels vs a gcc -O3 -march=native C reference vs streaming-read bandwidth.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { encodeElements } from "../src/neural/codec.ts";
import { KernelType, matvec, prepareMatrix, rowBytes } from "../src/neural/matvec.ts";
import { MatvecPool } from "../src/neural/matvec-pool.ts";
import { quantizeBlocks } from "../src/neural/quantizer.ts";
import { mulberry32 } from "../src/neural/vectorland-builder.ts";

const N = Number(process.env.MATVEC_N ?? 4096);
const ITERS = Number(process.env.MATVEC_ITERS ?? 12);
const dir = mkdtempSync(join(tmpdir(), "vb-matvec-"));
const cbin = join(dir, "matvec");

function sh(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}
const field = (out: string, k: string) => Number(new RegExp(`${k}=([^\\s]+)`).exec(out)?.[1]);

try {
  sh(["gcc", "-O3", "-march=native", "-o", cbin, resolve(import.meta.dir, "c/matvec.c")]);
  const stream = field(sh([cbin, "stream", "512", "5"]), "gbps");
  console.log(`streaming-read bandwidth (C, 512 MiB, best of 5): ${stream.toFixed(2)} GB/s`);
  console.log(`mat-vec ${N}x${N}, best of ${ITERS}; GB/s of weight bytes read; "ours" and C single-threaded`);
  const threads = Math.max(2, Math.min(4, navigator.hardwareConcurrency));
  console.log(`ours xT: rows split over ${threads} threads (this one + ${threads - 1} workers); the C reference stays single-threaded`);
  console.log("type   bytes(MiB)  ours GB/s   C GB/s   ours/C   ours/limit   C/limit   oursxT GB/s  xT/limit   sums(ours, C)");
  const pool = await MatvecPool.start(threads - 1, N, N);

  const r = mulberry32(4096);
  const values = new Float32Array(N * N);
  for (let i = 0; i < values.length; i++) values[i] = (r() * 2 - 1) * 0.05;
  const x = new Float32Array(N);
  for (let i = 0; i < N; i++) x[i] = r() * 2 - 1;
  writeFileSync(join(dir, "x.bin"), new Uint8Array(x.buffer));

  for (const [name, type] of Object.entries({ F32: KernelType.F32, F16: KernelType.F16, BF16: KernelType.BF16, Q8_0: KernelType.Q8_0, Q4_0: KernelType.Q4_0 })) {
    const bytes = new Uint8Array(N * rowBytes(type, N));
    encodeElements(type, bytes, 0, values, quantizeBlocks);
    const m = prepareMatrix(type, N, N, bytes);
    const y = new Float32Array(N);
    for (let i = 0; i < 3; i++) matvec(m, x, y);
    let best = Infinity;
    for (let i = 0; i < ITERS; i++) {
      const t0 = performance.now();
      matvec(m, x, y);
      best = Math.min(best, performance.now() - t0);
    }
    const ours = bytes.byteLength / (best / 1e3) / 1e9;
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    const ms = prepareMatrix(type, N, N, shared);
    await pool.register(type, ms, { kind: "shared", buffer: shared.buffer as SharedArrayBuffer, byteOffset: 0, byteLength: shared.byteLength });
    const yp = new Float32Array(N);
    for (let i = 0; i < 3; i++) pool.matvec(type, ms, x, yp);
    let bestP = Infinity;
    for (let i = 0; i < ITERS; i++) {
      const t0 = performance.now();
      pool.matvec(type, ms, x, yp);
      bestP = Math.min(bestP, performance.now() - t0);
    }
    const oursP = bytes.byteLength / (bestP / 1e3) / 1e9;
    let sum = 0;
    for (const v of y) sum += v;
    const wfile = join(dir, `w-${name}.bin`);
    writeFileSync(wfile, bytes);
    const cout = sh([cbin, name, String(N), String(N), String(ITERS), wfile, join(dir, "x.bin")]);
    const c = field(cout, "gbps");
    const csum = field(cout, "sum");
    const agree = Math.abs(sum - csum) <= 1e-3 * Math.max(1, Math.abs(csum)) ? "" : "  MISMATCH";
    console.log(
      `${name.padEnd(6)} ${(bytes.byteLength / 2 ** 20).toFixed(1).padStart(10)}  ${ours.toFixed(2).padStart(9)}  ${c.toFixed(2).padStart(7)}  ${(ours / c).toFixed(2).padStart(7)}  ${(ours / stream).toFixed(2).padStart(11)}  ${(c / stream).toFixed(2).padStart(8)}  ${oursP.toFixed(2).padStart(11)}  ${(oursP / stream).toFixed(2).padStart(8)}   ${sum.toExponential(4)}, ${csum.toExponential(4)}${agree}`,
    );
  }
  pool.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
