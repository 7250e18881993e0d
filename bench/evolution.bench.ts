// Evolution bench: ack latency and throughput from the Python client against the real init (shipped executable, `boot`) and the test consumer, vs raw fdatasync, a C durable echo and bun:sqlite WAL, on one real disk, in one run.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, fdatasync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { shippedPython, spawnShipped, tempDir } from "../test/harness/artifact.ts";
import { waitFor } from "../test/harness/wait.ts";
import { runPython, startConsumer } from "../test/evolution/harness.ts";
import { median, percentile as pct } from "./stats.ts";
import { RECORD_HEADER_SIZE } from "../src/journal/format.ts";
import { mutationRecordSize } from "../src/evolution/mutation-record.ts";
import type { Mutation } from "../src/evolution/slot-codec.ts";

const SEQUENTIAL = Number(process.env.VB_BENCH_SEQ ?? 1000);
const BATCH = Number(process.env.VB_BENCH_BATCH ?? 20000);
/** Pipelined batches per producer: the first pays for warm-up (JIT), the rest show the steady rate. */
const BATCHES = Math.max(2, Number(process.env.VB_BENCH_BATCHES ?? 4));

/** Fails the run: no reference, no number. */
function fail(why: string): never {
  console.error(`evolution bench FAILED: ${why}`);
  process.exit(1);
}

// The disk: a real one (on tmpfs fdatasync is free, and every ratio against it would be a lie).
const root = process.env.VB_BENCH_DIR ? mkdtempSync(join(process.env.VB_BENCH_DIR, "vb-bench-evo-")) : tempDir("vb-bench-evo-");
const fs = Bun.spawnSync(["stat", "-f", "-c", "%T", root], { stdout: "pipe" }).stdout.toString().trim();
if (!fs || /tmpfs|ramfs/.test(fs)) fail(`${root} is on ${fs || "an unknown file system"}: run on a real disk (VB_BENCH_DIR)`);

const ms = (x: number) => `${x.toFixed(3)} ms`;

// 1. The physical floor: append 64 bytes + fdatasync, same file system. `async`: fdatasync on the
// thread pool (node:fs), the way the journal calls it; otherwise fdatasyncSync on this thread. On
// this machine's virtual disk the two differ by up to 8x, in either direction, from minute to minute.
async function rawFsync(n: number, async: boolean): Promise<number[]> {
  const fd = openSync(join(root, "raw.bin"), "w");
  const buf = new Uint8Array(64).fill(7);
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    writeSync(fd, buf);
    if (async) await new Promise<void>((res, rej) => fdatasync(fd, (e) => (e ? rej(e) : res())));
    else fdatasyncSync(fd);
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
    ins.run("pixel.0.weight", i % 4000, 0.9, vals);
    single.push(performance.now() - t);
  }
  const tx = db.transaction((k: number) => {
    for (let i = 0; i < k; i++) ins.run("pixel.0.weight", i % 4000, 0.9, vals);
  });
  const perSec: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let done = 0; done < nBatch; done += batchSize) tx(Math.min(batchSize, nBatch - done));
    perSec.push(nBatch / ((performance.now() - t0) / 1000));
  }
  db.close();
  return { single, perSec };
}

// 3. The smallest durable round trip across processes (bench/c/durable-echo.c): per byte from the
// client, one journal-sized record appended, fdatasync, one byte back. What the init's ack costs on
// top of it is the channel, the gate, the journal's code and Bun's event loop and thread pool.
const RECORD = RECORD_HEADER_SIZE + mutationRecordSize({ tensor: "pixel.0.weight", elementOffset: 0, values: new Float32Array([0.5, -0.25]), confidence: 0.9 } satisfies Mutation);
const echoBin = join(resolve(import.meta.dir, ".."), ".cache/bench/durable-echo");
mkdirSync(join(echoBin, ".."), { recursive: true });
const cc = Bun.spawnSync(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", echoBin, resolve(import.meta.dir, "c/durable-echo.c")], { stderr: "inherit" });
if (cc.exitCode !== 0) fail("gcc failed on bench/c/durable-echo.c: no reference");
const ECHO_PY = `
import sys, json, time, socket, select
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
lat = []
for i in range(int(sys.argv[2])):
    t = time.perf_counter()
    s.sendall(b"x")
    select.select([s], [], [], 60)
    assert s.recv(1) == b"!"
    lat.append((time.perf_counter() - t) * 1000)
print(json.dumps({"lat": lat}))
`;
const echoSocket = join(root, "echo.sock");
const echo = Bun.spawn([echoBin, echoSocket, join(root, "echo.bin"), String(RECORD)], { stdout: "pipe", stderr: "inherit" });
{
  const first = await echo.stdout.getReader().read();
  if (first.done || !new TextDecoder().decode(first.value).startsWith("ready")) fail("bench/c/durable-echo did not start: no reference");
}

// 4. The producer: the real Python client, sequential acks then BATCHES pipelined batches.
const PY = `
import sys, json, time
from vector_boot_evolution import Client
tensor, seq_n, batch_n, reps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
with Client(sys.argv[1], timeout=60) as c:
    lat = []
    for i in range(seq_n):
        t = time.perf_counter()
        d = c.mutate(tensor, i % 4000, [0.5, -0.25], 0.9)
        lat.append((time.perf_counter() - t) * 1000)
        assert d.accepted, d
    per_sec = []
    for _ in range(reps if batch_n else 0):
        muts = [(tensor, i % 4000, [0.5, -0.25], 0.9) for i in range(batch_n)]
        t = time.perf_counter()
        done = c.submit_batch(muts)
        per_sec.append(batch_n / (time.perf_counter() - t))
        assert all(d.accepted for d in done)
print(json.dumps({"lat": lat, "per_sec": per_sec}))
`;
/** `per_sec`: one rate per pipelined batch, in order (the first includes warm-up). */
type PyResult = { lat: number[]; per_sec: number[] };
/** Sequential ack latencies right after start (`cold`) and after the pipelined batches (`warm`), and the batches' rates. */
type Measured = { cold: number[]; warm: number[]; per_sec: number[] };
/** The first batch's rate and the median of the others. */
const rates = (xs: number[]) => ({ first: xs[0] ?? 0, steady: median(xs.slice(1)) });

/** Where the acks go: the real init or the test consumer. */
interface Target {
  socket: string;
  tensor: string;
  clientPath?: string;
}
const CHUNKS = 5;
const floor: number[] = [];
const floorSync: number[] = [];
const echoLat: number[] = [];

/**
 * SEQUENTIAL acks in CHUNKS chunks, each followed by as many raw fdatasyncs and C durable echoes
 * (the disk's mood changes by the minute on a shared machine: the references are taken between the
 * samples).
 */
async function sequential(t: Target): Promise<number[]> {
  const lat: number[] = [];
  const per = Math.ceil(SEQUENTIAL / CHUNKS);
  for (let i = 0; i < CHUNKS; i++) {
    const r: PyResult = JSON.parse((await runPython(PY, [t.socket, t.tensor, String(per), "0", "0"], 600_000, t.clientPath))[0]!);
    lat.push(...r.lat);
    floor.push(...(await rawFsync(per, true)));
    floorSync.push(...(await rawFsync(Math.ceil(per / 2), false)));
    echoLat.push(...(JSON.parse((await runPython(ECHO_PY, [echoSocket, String(per)], 600_000))[0]!) as { lat: number[] }).lat);
  }
  return lat;
}

/**
 * Sequential acks right after start (JavaScriptCore is still compiling the drain on its JIT threads,
 * which share the two cores), BATCHES pipelined batches for throughput, then sequential acks again.
 */
async function measure(t: Target): Promise<Measured> {
  const cold = await sequential(t);
  const b: PyResult = JSON.parse((await runPython(PY, [t.socket, t.tensor, "0", String(BATCH), String(BATCHES)], 600_000, t.clientPath))[0]!);
  const warm = await sequential(t);
  return { cold, warm, per_sec: b.per_sec };
}

/** The shipped executable as the init (`boot`, not PID 1), state on the bench disk. */
async function realInit(): Promise<Measured> {
  const dir = join(root, "init");
  const cfg = join(root, "init.json");
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0, ...(process.env.VB_BENCH_SLOTS ? { slots: Number(process.env.VB_BENCH_SLOTS) } : {}) } }));
  const socket = join(dir, "run/evolution.sock");
  const init = spawnShipped(["boot", "--config", cfg, "--set", "heartbeat_log_every=0"]);
  let log = "";
  void (async () => {
    for await (const c of init.stderr) log += new TextDecoder().decode(c);
  })();
  void new Response(init.stdout).text();
  try {
    await waitFor(() => existsSync(socket) && log.includes("phase heartbeat"), 30_000, "the init's evolution socket").catch((e) => fail(`${e}\n${log}`));
    return await measure({ socket, tensor: "pixel.0.weight", clientPath: shippedPython });
  } finally {
    init.kill(9);
    await init.exited;
  }
}

try {
  const init = await realInit();
  const c = await startConsumer(join(root, "state"), join(root, "run"));
  let consumer: Measured;
  let batches = 0;
  try {
    consumer = await measure({ socket: c.socket, tensor: "pixel.w" });
    batches = (await c.ask("stats")).stats.journalBatches;
  } finally {
    await c.kill();
  }
  if (!(floor.length > 0 && pct(floor, 50) > 0)) fail("the raw fdatasync reference measured nothing");
  if (!(echoLat.length > 0 && pct(echoLat, 50) > 0)) fail("the C durable echo reference measured nothing");
  // The consumer journals each sequential ack alone: 2 x SEQUENTIAL of its fsyncs are not the batches'.
  const avgBatch = (2 * SEQUENTIAL + BATCH * BATCHES) / Math.max(1, batches);
  const sq = sqlite(SEQUENTIAL, BATCH, Math.max(1, Math.round((BATCH * BATCHES) / Math.max(1, batches - 2 * SEQUENTIAL))));
  const [ri, rc, rs] = [rates(init.per_sec), rates(consumer.per_sec), rates(sq.perSec)];
  const line = (what: string, xs: number[], note = "") => console.log(`  ${what.padEnd(42)} p50 ${ms(pct(xs, 50))}  p99 ${ms(pct(xs, 99))}${note}`);
  const ratio = (what: string, xs: number[], ref: number[]) =>
    console.log(`  ratio ${what}:`.padEnd(62) + ` p50 ${(pct(xs, 50) / pct(ref, 50)).toFixed(2)}x  p99 ${(pct(xs, 99) / pct(ref, 99)).toFixed(2)}x`);

  console.log(`evolution bench (${root}, ${fs}): ${SEQUENTIAL} sequential acks right after start and ${SEQUENTIAL} after ${BATCHES} x ${BATCH} pipelined mutations, per producer`);
  line("raw append+fdatasync", floor, `  (physical floor, as the journal calls it: ${floor.length} samples taken between the ack samples)`);
  line("raw append+fdatasyncSync", floorSync, "  (same, on the calling thread)");
  line("C durable echo (python)", echoLat, `  (bench/c/durable-echo.c: one ${RECORD}-byte record + fdatasync per round trip, ${echoLat.length} samples taken between the ack samples)`);
  line("sqlite WAL FULL, 1 row/tx", sq.single);
  line("real init ack (python), after start", init.cold);
  line("real init ack (python), warm", init.warm);
  line("test consumer ack (python), after start", consumer.cold);
  line("test consumer ack (python), warm", consumer.warm);
  ratio("real init ack after start / raw fdatasync", init.cold, floor);
  ratio("real init ack warm / raw fdatasync", init.warm, floor);
  ratio("real init ack warm / C durable echo", init.warm, echoLat);
  ratio("test consumer warm / raw fdatasync", consumer.warm, floor);
  console.log(`  ratio real init ack p50 / sqlite p50: ${(pct(init.warm, 50) / pct(sq.single, 50)).toFixed(2)}x (warm)`);
  const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
  console.log(`  throughput (${BATCHES} pipelined batches of ${BATCH}: the first, then the median of the rest)`);
  console.log(`    real init      ${k(ri.first)} then ${k(ri.steady)} acked mutations/s`);
  console.log(`    test consumer  ${k(rc.first)} then ${k(rc.steady)} acked mutations/s (avg ${avgBatch.toFixed(1)} records per fsync)`);
  console.log(`    sqlite WAL     ${k(rs.first)} then ${k(rs.steady)} rows/s in transactions of the consumer's average batch size`);
  console.log(`  ratio throughput real init / sqlite: first batch ${(ri.first / rs.first).toFixed(2)}x, steady ${(ri.steady / rs.steady).toFixed(2)}x`);
} finally {
  echo.kill(9);
  rmSync(root, { recursive: true, force: true });
}
