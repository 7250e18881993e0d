// Evolution bench: acknowledged mutations/s and ack latency from the Python client vs raw fdatasync and bun:sqlite WAL, same disk, same run.
import { Database } from "bun:sqlite";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPython, startConsumer } from "../test/evolution/harness.ts";

const SEQUENTIAL = Number(process.env.VB_BENCH_SEQ ?? 1000);
const BATCH = Number(process.env.VB_BENCH_BATCH ?? 20000);
const root = mkdtempSync(join(process.env.VB_BENCH_DIR ?? tmpdir(), "vb-bench-evo-"));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

// 1. Physical floor: append 64 bytes + fdatasync, same file system.
function rawFsync(n: number): number[] {
  const fd = openSync(join(root, "raw.bin"), "w");
  const buf = new Uint8Array(64).fill(7);
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    writeSync(fd, buf);
    fdatasyncSync(fd);
    lat.push(performance.now() - t);
  }
  closeSync(fd);
  return lat;
}

// 2. The everyday alternative: SQLite WAL, synchronous=FULL (each commit durable), same rows.
function sqlite(nSingle: number, nBatch: number, batchSize: number) {
  const db = new Database(join(root, "sqlite.db"));
  db.run("PRAGMA journal_mode=WAL");
  db.run("PRAGMA synchronous=FULL");
  db.run("CREATE TABLE m (seq INTEGER PRIMARY KEY, tensor TEXT, off INTEGER, confidence REAL, vals BLOB)");
  const ins = db.prepare("INSERT INTO m (tensor, off, confidence, vals) VALUES (?, ?, ?, ?)");
  const vals = new Uint8Array(new Float32Array([0.5, -0.25]).buffer);
  const single: number[] = [];
  for (let i = 0; i < nSingle; i++) {
    const t = performance.now();
    ins.run("pixel.w", i % 4000, 0.9, vals);
    single.push(performance.now() - t);
  }
  const tx = db.transaction((k: number) => {
    for (let i = 0; i < k; i++) ins.run("pixel.w", i % 4000, 0.9, vals);
  });
  const t0 = performance.now();
  for (let done = 0; done < nBatch; done += batchSize) tx(Math.min(batchSize, nBatch - done));
  const perSec = nBatch / ((performance.now() - t0) / 1000);
  db.close();
  return { single, perSec };
}

// 3. vector-boot: real consumer process, real Python client.
const PY = `
import sys, json, time
from vector_boot_evolution import Client
seq_n, batch_n = int(sys.argv[2]), int(sys.argv[3])
with Client(sys.argv[1], timeout=60) as c:
    lat = []
    for i in range(seq_n):
        t = time.perf_counter()
        d = c.mutate("pixel.w", i % 4000, [0.5, -0.25], 0.9)
        lat.append((time.perf_counter() - t) * 1000)
        assert d.accepted, d
    muts = [("pixel.w", i % 4000, [0.5, -0.25], 0.9) for i in range(batch_n)]
    t = time.perf_counter()
    done = c.submit_batch(muts)
    dt = time.perf_counter() - t
    assert all(d.accepted for d in done)
print(json.dumps({"lat": lat, "per_sec": batch_n / dt}))
`;

try {
  const raw = rawFsync(SEQUENTIAL);
  const c = await startConsumer(join(root, "state"), join(root, "run"));
  let py: { lat: number[]; per_sec: number };
  let batches = 0;
  try {
    py = JSON.parse((await runPython(PY, [c.socket, String(SEQUENTIAL), String(BATCH)], 600000))[0]!);
    batches = (await c.ask("stats")).stats.journalBatches;
  } finally {
    await c.kill();
  }
  const avgBatch = (SEQUENTIAL + BATCH) / Math.max(1, batches);
  const sq = sqlite(SEQUENTIAL, BATCH, Math.max(1, Math.round(BATCH / Math.max(1, batches - SEQUENTIAL))));

  console.log(`evolution bench (${root}): ${SEQUENTIAL} sequential + ${BATCH} pipelined mutations`);
  console.log(`  raw append+fdatasync      p50 ${ms(pct(raw, 50))}  p99 ${ms(pct(raw, 99))}  (physical floor)`);
  console.log(`  sqlite WAL FULL, 1 row/tx p50 ${ms(pct(sq.single, 50))}  p99 ${ms(pct(sq.single, 99))}`);
  console.log(`  vector-boot ack (python)  p50 ${ms(pct(py.lat, 50))}  p99 ${ms(pct(py.lat, 99))}`);
  console.log(`  ratio ack p50 / raw fsync p50:   ${(pct(py.lat, 50) / pct(raw, 50)).toFixed(2)}x`);
  console.log(`  ratio ack p50 / sqlite p50:      ${(pct(py.lat, 50) / pct(sq.single, 50)).toFixed(2)}x`);
  console.log(`  throughput vector-boot ${py.per_sec.toFixed(0)} acked mutations/s (avg ${avgBatch.toFixed(1)} records per fsync)`);
  console.log(`  throughput sqlite WAL  ${sq.perSec.toFixed(0)} rows/s in transactions of the same average size`);
  console.log(`  ratio throughput vector-boot / sqlite: ${(py.per_sec / sq.perSec).toFixed(2)}x`);
  console.log(`  ratio throughput vector-boot / (1 / raw fsync p50): ${(py.per_sec * pct(raw, 50) / 1000).toFixed(1)}x  (group commit gain over one fsync per ack)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
