// 4096x4096 mat-vec per type: GB/s of weights read by our kernels (shim SIMD on the mapped file, per CPU variant, and the TypeScript reference) vs a gcc -O3 -march=native C program vs streaming-read bandwidth; pool scaling.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { encodeElements } from "../src/neural/codec.ts";
import { KernelType, matvec, matvecReference, type PreparedMatrix, prepareMatrix, rowBytes } from "../src/neural/matvec.ts";
import { MatvecPool } from "../src/neural/matvec-pool.ts";
import { quantizeBlocks } from "../src/neural/quantizer.ts";
import { mulberry32 } from "../src/neural/vectorland-builder.ts";
import { mapFileReadOnly } from "../src/sys/mmap.ts";
import { MatvecLevel, nativeMatvec, nativeMatvecLevel } from "../src/sys/matvec.ts";

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
  // Measured before and after the products (best of both): other load on the machine only lowers it.
  const streamBefore = field(sh([cbin, "stream", "512", "5"]), "gbps");
  let llc = "unknown";
  try {
    llc = (await Bun.file("/sys/devices/system/cpu/cpu0/cache/index3/size").text()).trim();
  } catch {
    /* no cache info */
  }
  const level = nativeMatvecLevel();
  if (level === null) throw new Error("the shim's mat-vec kernels did not load: no number for \"ours\"");
  console.log(`mat-vec ${N}x${N}, best of ${ITERS}; GB/s of weight bytes read; "ours" = shim kernels (${level}) on the mmapped file, single thread; "TS" = the TypeScript reference kernels`);
  const rowsOut: { name: string; mib: number; ours: number; ts: number; c: number; oursP: number; sum: number; csum: number; byLevel: number[] }[] = [];
  const levels = Object.entries(MatvecLevel).filter(([, l]) => l <= MatvecLevel[level]);
  const bestOf = (f: () => void): number => {
    for (let i = 0; i < 3; i++) f();
    let best = Infinity;
    for (let i = 0; i < ITERS; i++) {
      const t0 = performance.now();
      f();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const threads = Math.max(2, Math.min(4, navigator.hardwareConcurrency));
  const pool = await MatvecPool.start(threads - 1, N, N);

  const r = mulberry32(4096);
  const values = new Float32Array(N * N);
  for (let i = 0; i < values.length; i++) values[i] = (r() * 2 - 1) * 0.05;
  const x = new Float32Array(N);
  for (let i = 0; i < N; i++) x[i] = r() * 2 - 1;
  writeFileSync(join(dir, "x.bin"), new Uint8Array(x.buffer));

  const types = { F32: KernelType.F32, F16: KernelType.F16, BF16: KernelType.BF16, Q8_0: KernelType.Q8_0, Q4_0: KernelType.Q4_0, Q4_K: KernelType.Q4_K, Q6_K: KernelType.Q6_K };
  for (const [name, type] of Object.entries(types)) {
    const bytes = new Uint8Array(N * rowBytes(type, N));
    encodeElements(type, bytes, 0, values, quantizeBlocks);
    const wfile = join(dir, `w-${name}.bin`);
    writeFileSync(wfile, bytes);
    const map = mapFileReadOnly(wfile);
    const m: PreparedMatrix = prepareMatrix(type, N, N, map.bytes);
    const y = new Float32Array(N);
    const ours = bytes.byteLength / (bestOf(() => matvec(m, x, y)) / 1e3) / 1e9;
    const yl = new Float32Array(N);
    const byLevel = levels.map(([, lv]) => bytes.byteLength / (bestOf(() => nativeMatvec(type, m.bytes, N, N, x, yl, 0, N, lv)) / 1e3) / 1e9);
    const yt = new Float32Array(N);
    const ts = bytes.byteLength / (bestOf(() => matvecReference(m, x, yt)) / 1e3) / 1e9;
    await pool.register(type, m, { kind: "file", path: wfile, mapOffset: 0, mapLength: bytes.byteLength, byteOffset: 0, byteLength: bytes.byteLength });
    const yp = new Float32Array(N);
    const oursP = bytes.byteLength / (bestOf(() => pool.matvec(type, m, x, yp)) / 1e3) / 1e9;
    if (pool.stats.broken) throw new Error("the worker pool broke during the bench");
    let sum = 0;
    let tsum = 0;
    let psum = 0;
    for (let i = 0; i < N; i++) {
      sum += y[i]!;
      tsum += yt[i]!;
      psum += yp[i]!;
    }
    if (psum !== sum) throw new Error(`${name}: the pool's sum ${psum} differs from the single-thread sum ${sum}`);
    if (Math.abs(sum - tsum) > 1e-3 * Math.max(1, Math.abs(tsum))) throw new Error(`${name}: shim kernel sum ${sum} vs TypeScript reference ${tsum}`);
    map.unmap();

    const cout = sh([cbin, name, String(N), String(N), String(ITERS), wfile, join(dir, "x.bin")]);
    const c = field(cout, "gbps");
    const csum = field(cout, "sum");
    if (Math.abs(sum - csum) > 1e-3 * Math.max(1, Math.abs(csum))) throw new Error(`${name}: our sum ${sum} vs the C program's ${csum}`);
    if (!Number.isFinite(c) || !Number.isFinite(csum)) throw new Error(`${name}: the C reference printed no number: ${cout}`);
    rowsOut.push({ name, mib: bytes.byteLength / 2 ** 20, ours, ts, c, oursP, sum, csum, byLevel });
  }
  pool.close();
  const stream = Math.max(streamBefore, field(sh([cbin, "stream", "512", "5"]), "gbps"));
  console.log(`streaming-read bandwidth (C, 512 MiB, best of 10 in two rounds): ${stream.toFixed(2)} GB/s; last-level cache ${llc}`);
  console.log("(a matrix that fits in the last-level cache can be read faster than the streaming limit)");
  console.log(`ours xT: rows split over ${threads} threads (this one + ${threads - 1} workers); the C reference stays single-threaded`);
  console.log("type   bytes(MiB)  ours GB/s  TS GB/s   C GB/s   ours/C   TS/C   ours/limit  C/limit  oursxT GB/s  xT/1T   sums(ours, C)");
  for (const r of rowsOut) {
    console.log(
      `${r.name.padEnd(6)} ${r.mib.toFixed(1).padStart(10)}  ${r.ours.toFixed(2).padStart(9)}  ${r.ts.toFixed(2).padStart(7)}  ${r.c.toFixed(2).padStart(7)}  ${(r.ours / r.c).toFixed(2).padStart(7)}  ${(r.ts / r.c).toFixed(2).padStart(5)}  ${(r.ours / stream).toFixed(2).padStart(10)}  ${(r.c / stream).toFixed(2).padStart(7)}  ${r.oursP.toFixed(2).padStart(11)}  ${(r.oursP / r.ours).toFixed(2).padStart(5)}   ${r.sum.toExponential(4)}, ${r.csum.toExponential(4)}`,
    );
  }
  console.log(`shim kernel by CPU variant (single thread, GB/s of weights; ratio to the C reference in parentheses):`);
  console.log(`type   ${levels.map(([n]) => n.padStart(16)).join("")}`);
  for (const r of rowsOut) console.log(`${r.name.padEnd(6)} ${r.byLevel.map((g) => `${g.toFixed(2)} (${(g / r.c).toFixed(2)})`.padStart(16)).join("")}`);
  console.log(`xT/1T: the pool's throughput over the single-thread shim kernel (${threads} threads on ${navigator.hardwareConcurrency} CPUs; a memory-bound product gains only what the bandwidth leaves)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
