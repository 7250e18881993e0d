// Packaging benchmark: exec -> first heartbeat and RSS with 1/64/512 MiB embedded models, the model load alone mapped vs read into the heap (same process),
// initramfs size and build time by compression (vs plain gzip of the same archive), and the QEMU boot of each image split
// into its stages (ratios against the uncompressed image's boot and gzip's size, measured in the same run).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { COMPRESSION_SUFFIX, COMPRESSIONS, type Compression } from "../src/initramfs/compress.ts";
import { writeCpio } from "../src/initramfs/cpio.ts";
import { appendModel } from "../src/rts/embed.ts";
import { buildFloorProgram } from "./floor-program.ts";
import { median } from "./stats.ts";

const root = resolve(import.meta.dir, "..");
const out = join(root, ".cache/bench/packaging");
mkdirSync(out, { recursive: true });
const bun = process.execPath;
const bare = join(root, "dist/vector-boot.bare");
if (!existsSync(bare)) {
  console.error("bench: run scripts/build.ts first (dist/vector-boot.bare missing)");
  process.exit(1);
}
const RUNS = 7;

/** The default vectorland model padded to about `mib` MiB with an extra.padding tensor (carried, ignored by the runtime). */
function writeModel(path: string, mib: number): void {
  const r = Bun.spawnSync([bun, join(root, "scripts/gen-vectorland.ts"), "-o", path, "--pad-mib", String(Math.max(0, mib - 1))], { stdout: "ignore", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`gen-vectorland --pad-mib ${mib} failed`);
}

interface Sample {
  ms: number;
  rssMiB: number;
}

/** Spawns argv, waits for `marker` on stderr: time from spawn and VmRSS of the process at that moment. */
async function firstBeat(argv: string[], marker: string): Promise<Sample> {
  const t0 = Bun.nanoseconds();
  // TMPDIR: the development boot's scratch state and run dirs go to the bench's own directory, removed below.
  const scratch = join(out, "scratch");
  mkdirSync(scratch, { recursive: true });
  const p = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe", env: { ...process.env, JSC_SIGNAL_FOR_GC: "40", TMPDIR: scratch } });
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  let buf = "";
  let sample: Sample | null = null;
  const dec = new TextDecoder();
  for await (const c of p.stderr) {
    buf += dec.decode(c, { stream: true });
    if (!sample && buf.includes(marker)) {
      const ms = (Bun.nanoseconds() - t0) / 1e6;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1];
      sample = { ms, rssMiB: Number(rss) / 1024 };
      p.kill("SIGTERM");
    }
  }
  await p.exited;
  clearTimeout(timer);
  if (!sample) throw new Error(`${argv.join(" ")}: no "${marker}" line; stderr:\n${buf}`);
  return sample;
}

// 1. A probe compiled the same way loads its embedded model both ways in one process, timing the load alone
// (no process start-up, no wait): map (the runtime's way: openModelSource, header validated) and read into
// the heap (every byte read from /proc/self/exe); RSS grown by each. Order alternates between runs.
const probeSrc = join(out, "probe.ts");
writeFileSync(
  probeSrc,
  `import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { locateEmbeddedModel } from ${JSON.stringify(join(root, "src/rts/embed.ts"))};
import { openModelSource } from ${JSON.stringify(join(root, "src/rts/model-source.ts"))};
import { setLogLevel } from ${JSON.stringify(join(root, "src/log.ts"))};
setLogLevel("error");
const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const keep: Uint8Array[] = [];
const out: Record<string, number> = {};
function heap() {
  const r0 = rss();
  const t0 = performance.now();
  const m = locateEmbeddedModel()!;
  const bytes = new Uint8Array(m.size);
  const fd = openSync("/proc/self/exe", "r");
  for (let at = 0; at < m.size; ) at += readSync(fd, bytes, at, Math.min(1 << 24, m.size - at), m.offset + at);
  closeSync(fd);
  out.heap_ms = performance.now() - t0;
  keep.push(bytes);
  out.heap_rss = rss() - r0;
}
function map() {
  const r0 = rss();
  const t0 = performance.now();
  const m = openModelSource({ fallbackPath: null });
  keep.push(m.bytes.subarray(m.bytes.length - 1));
  out.map_ms = performance.now() - t0;
  out.map_rss = rss() - r0;
}
if (process.argv[2] === "heap-first") { heap(); map(); } else { map(); heap(); }
console.log(Object.entries(out).map(([k, v]) => k + "=" + v.toFixed(3)).join(" "));
`,
);
const probeBare = join(out, "probe.bare");
const b = Bun.spawnSync([bun, "build", "--compile", probeSrc, "--outfile", probeBare], { cwd: root, stdout: "ignore", stderr: "inherit" });
if (b.exitCode !== 0) process.exit(1);

console.log(`## exec -> first heartbeat of vector-boot boot (ms, RSS MiB at that moment), median of ${RUNS}; and the model load alone, mapped vs read into the heap, both in one probe process (median of ${RUNS}, order alternated)`);
console.log("| model | vector-boot exec -> first beat | RSS vector-boot | load mapped (ms) | load into heap (ms) | heap / mapped time | RSS grown mapped | RSS grown heap |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const rows: { mib: number; vb: Sample }[] = [];
const sizes = [1, 64, 512];
const models = new Map<number, string>();
const exes = new Map<number, string>();
for (const mib of sizes) {
  const model = join(out, `model-${mib}.gguf`);
  writeModel(model, mib);
  const vbExe = join(out, `vector-boot-${mib}`);
  await appendModel(bare, model, vbExe);
  Bun.spawnSync(["chmod", "755", vbExe]);
  models.set(mib, model);
  exes.set(mib, vbExe);
}
// The reference: an empty Bun program built with our flags that writes the same line at once and waits
// (the floor of exec -> first line on this machine today: Bun's own start-up and the pipe).
const floorExe = buildFloorProgram(out, "floor-first-line", { "floor-first-line.ts": `console.error("first heartbeat");\nsetInterval(() => {}, 1000);\n` });
// The executables were just written (600 MB for the 512 MiB one): their writeback must not land
// inside the timed runs, and the sizes are measured interleaved, so load changes hit all alike.
Bun.spawnSync(["sync"]);
const beats = new Map<number, Sample[]>(sizes.map((m) => [m, []]));
const floorRuns: Sample[] = [];
for (let i = 0; i < RUNS; i++) {
  for (const mib of sizes) beats.get(mib)!.push(await firstBeat([exes.get(mib)!, "boot", "--set", "shutdown_after=5", "--set", "heartbeat_log_every=0"], "first heartbeat"));
  floorRuns.push(await firstBeat([floorExe], "first heartbeat"));
}
const floorMs = median(floorRuns.map((x) => x.ms));
if (!(floorMs > 0)) throw new Error("the empty program's first line measured nothing: no ratio");
for (const mib of sizes) {
  const s = beats.get(mib)!;
  const vb: Sample = { ms: median(s.map((x) => x.ms)), rssMiB: median(s.map((x) => x.rssMiB)) };
  const model = models.get(mib)!;
  const probeExe = join(out, `probe-${mib}`);
  await appendModel(probeBare, model, probeExe);
  Bun.spawnSync(["chmod", "755", probeExe]);
  const loads: Record<string, number>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = Bun.spawnSync([probeExe, i % 2 ? "heap-first" : "map-first"], { stdout: "pipe", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error(`probe exited ${r.exitCode}`);
    loads.push(Object.fromEntries(r.stdout.toString().trim().split(" ").map((kv) => [kv.split("=")[0]!, Number(kv.split("=")[1])])));
  }
  const med = (k: string) => median(loads.map((l) => l[k]!));
  if (!(med("map_ms") > 0)) throw new Error("no mapped-load reference time");
  rows.push({ mib, vb });
  console.log(
    `| ${mib} MiB | ${vb.ms.toFixed(1)} | ${vb.rssMiB.toFixed(1)} | ${med("map_ms").toFixed(3)} | ${med("heap_ms").toFixed(3)} | ${(med("heap_ms") / med("map_ms")).toFixed(1)}x | ${med("map_rss").toFixed(1)} | ${med("heap_rss").toFixed(1)} |`,
  );
  for (const f of [model, probeExe]) rmSync(f, { force: true });
  if (mib !== 1 && mib !== 512) rmSync(exes.get(mib)!, { force: true });
}
const small = rows.find((r) => r.mib === 1)!.vb;
const big = rows.find((r) => r.mib === 512)!.vb;
console.log(
  `vector-boot 512 MiB vs 1 MiB: RSS +${(big.rssMiB - small.rssMiB).toFixed(1)} MiB (acceptance: < 16), time ${((big.ms / small.ms - 1) * 100).toFixed(1)}% (acceptance: < 20%)`,
);
console.log(`empty Bun program (our flags), exec -> its first line: ${floorMs.toFixed(1)} ms, RSS ${median(floorRuns.map((x) => x.rssMiB)).toFixed(1)} MiB; ratio exec -> first beat (1 MiB model) / empty program's first line: ${(small.ms / floorMs).toFixed(2)}x`);

// 2. initramfs: size and build time of each compression, against plain gzip -6 (C) of the same cpio archive.
console.log("\n## initramfs (dist/vector-boot with the 1 MiB model)");
const exe1 = join(out, "vector-boot-1");
const shim = join(root, "dist/native/libvbshim.so");
const images: { compression: Compression; path: string; bytes: number; buildMs: number }[] = [];
for (const compression of COMPRESSIONS) {
  const t0 = performance.now();
  const r = buildInitramfs({ preinit: join(root, "dist/native/preinit"), exe: exe1, runtimeLibs: existsSync(shim) ? [shim] : [], compression });
  const ms = performance.now() - t0;
  const path = join(out, `initramfs.cpio${COMPRESSION_SUFFIX[compression]}`);
  writeFileSync(path, r.bytes);
  images.push({ compression, path, bytes: r.bytes.length, buildMs: ms });
  console.log(`${compression}: ${(r.bytes.length / 1048576).toFixed(1)} MiB (${r.uncompressedSize} bytes unpacked, ${r.entries.length} entries) in ${ms.toFixed(0)} ms`);
  if (compression === "gzip") {
    const cpioPath = join(out, "plain.cpio");
    writeFileSync(cpioPath, writeCpio(r.entries));
    const g0 = performance.now();
    Bun.spawnSync(["gzip", "-6", "-n", "-f", "-k", cpioPath]);
    const gms = performance.now() - g0;
    console.log(`  reference gzip -6 (C) of the same archive: ${gms.toFixed(0)} ms, ${(Bun.file(`${cpioPath}.gz`).size / 1048576).toFixed(1)} MiB; build / gzip time = ${(ms / gms).toFixed(2)}x`);
    rmSync(cpioPath, { force: true });
    rmSync(`${cpioPath}.gz`, { force: true });
  }
}

// 3. The QEMU boot of each image (software emulation, -smp 1, the plain appliance without config), split into stages
//    from the console by scripts/qemu-boot-time.ts; images booted round-robin, median of QEMU_RUNS. References of the
//    same run: the uncompressed image for boot time (no decompression), gzip for size.
const QEMU_RUNS = Number(process.env.VB_BENCH_QEMU_RUNS ?? 3);
console.log(`\n## QEMU boot (software emulation, -smp 1), kernel start -> first heartbeat by initramfs compression, stages in ms, median of ${QEMU_RUNS}`);
const q = Bun.spawnSync([bun, join(root, "scripts/qemu-boot-time.ts"), "--json", "--runs", String(QEMU_RUNS), ...images.flatMap((i) => ["--image", i.path])], {
  cwd: root,
  stdout: "pipe",
  stderr: "pipe",
  timeout: 3_600_000,
});
if (q.exitCode !== 0) {
  console.log(`qemu-boot-time failed (exit ${q.exitCode}):\n${q.stderr.toString().slice(-3000)}`);
  process.exit(1);
}
type Stages = Record<"kernel" | "preinit" | "bunStart" | "runtime" | "firstBeat" | "total", number | null>;
const boots = JSON.parse(q.stdout.toString()) as Record<string, Stages>;
const stagesOf = (c: Compression): Stages => boots[images.find((i) => i.compression === c)!.path.split("/").at(-1)!] ?? {} as Stages;
const ref = { boot: stagesOf("none").total, size: images.find((i) => i.compression === "gzip")?.bytes };
if (!(ref.boot && ref.boot > 0) || !(ref.size && ref.size > 0)) {
  console.log(`no reference measured in this run (uncompressed boot ${ref.boot}, gzip size ${ref.size}): no ratios`);
  process.exit(1);
}
const ms = (x: number | null | undefined) => (x == null ? "?" : x.toFixed(0));
console.log("| compression | size (MiB) | build (s) | kernel (to /init, unpack included) | pre-init | Bun start | runtime init | first heartbeat | kernel start -> first heartbeat | size / gzip | boot / uncompressed |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const i of images) {
  const s = stagesOf(i.compression);
  const ratio = s.total ? `${(s.total / ref.boot).toFixed(2)}x` : "?";
  console.log(
    `| ${i.compression} | ${(i.bytes / 1048576).toFixed(1)} | ${(i.buildMs / 1000).toFixed(1)} | ${ms(s.kernel)} | ${ms(s.preinit)} | ${ms(s.bunStart)} | ${ms(s.runtime)} | ${ms(s.firstBeat)} | ${ms(s.total)} | ${(i.bytes / ref.size).toFixed(2)} | ${ratio} |`,
  );
}
console.log(`goals: image <= 40 MiB (${images.filter((i) => i.bytes <= 40 * 1048576).map((i) => i.compression).join(", ") || "none"}); kernel start -> first heartbeat <= 6 s (${images.filter((i) => (stagesOf(i.compression).total ?? Infinity) <= 6000).map((i) => i.compression).join(", ") || "none"})`);
rmSync(join(out, "scratch"), { recursive: true, force: true });
for (const f of [join(out, "vector-boot-1"), join(out, "vector-boot-512"), ...images.map((i) => i.path)]) rmSync(f, { force: true });
