// QEMU power-cut test: a guest producer streams mutations to the init, which journals on a virtio disk (cache=none, raw file on a real disk); QEMU is SIGKILLed at seeded instants; each next boot must hold every mutation acknowledged before the kill, whole.
// Usage: bun scripts/qemu-powercut.ts [--kills N (>= 5)] [--seed S] [--timeout S (per boot)] [--dir D (real disk, default /var/tmp)] [--keep-log PREFIX]
import { mkdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { decodeValues, POWERCUT_TENSORS, streamMutation } from "./powercut-stream.ts";
import { applianceCmdline, type BootResult, bootQemu, die, ensureKernel, ensureQemu, ensureTool, imageBase, prepareExecutable, root, sayer, sh, splitBuiltin } from "./qemu-support.ts";
import { printConsole } from "./qemu-console.ts";

const say = sayer("qemu-powercut");
const { values: opt } = parseArgs({
  options: {
    kills: { type: "string", default: "5" },
    seed: { type: "string", default: "20261202" },
    timeout: { type: "string", default: "90" },
    dir: { type: "string", default: "/var/tmp" },
    "keep-log": { type: "string" },
  },
});
const kills = Number(opt.kills);
const seed = Number(opt.seed);
const timeoutS = Number(opt.timeout);
if (!Number.isInteger(kills) || kills < 1 || !Number.isInteger(seed) || !(timeoutS > 0)) {
  say("--kills must be a positive integer, --seed an integer, --timeout a positive number of seconds");
  process.exit(64);
}

const STATE_DIR = "/var/lib/vector-boot";
const GUEST = "/etc/vector-boot/powercut-guest.js";
const WANTED = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"];
/** The disk's cache mode: O_DIRECT on the host, and the guest's flushes become fdatasync of the image (never "unsafe"). */
const CACHE = "none";

// The disk lives on a real file system (fdatasync is free on tmpfs, and O_DIRECT is refused there).
const fsType = sh(say, ["stat", "-f", "-c", "%T", opt.dir], "stat -f").trim();
if (/tmpfs|ramfs|overlay/.test(fsType)) die(say, `${opt.dir} is ${fsType}: the power-cut disk needs a real disk (--dir)`);
const work = join(opt.dir, `vector-boot-powercut-${process.pid}`);
mkdirSync(work, { recursive: true });
const qemu = ensureQemu(say);
const kernel = ensureKernel(say);
const mkfs = ensureTool(say, "mkfs.ext4", "e2fsprogs");
const exe = await prepareExecutable(say);

// The guest program, bundled into one file (the stream generator is the host's own module).
const bundle = await Bun.build({ entrypoints: [join(root, "scripts/powercut-guest.ts")], target: "bun" });
if (!bundle.success) die(say, `bundling scripts/powercut-guest.ts failed: ${bundle.logs.join("\n")}`);
const guestJs = join(work, "powercut-guest.js");
writeFileSync(guestJs, await bundle.outputs[0]!.text());

const { modules } = splitBuiltin(say, kernel, WANTED);
const config = join(work, "config.json");
writeFileSync(
  config,
  `${JSON.stringify({
    modules: WANTED,
    mounts: [{ source: "/dev/vda", target: STATE_DIR, fstype: "ext4", options: "", wait_ms: 15_000 }],
    evolution: { checkpoint_every_s: 0 },
    heartbeat_ms: 1000, // a slow beat leaves the one emulated CPU to the journal and the producer
    // keep_all_capabilities: the producer opens /proc/1/fd/N (the hello's path), which the kernel refuses to a service without capabilities (see the report).
    services: [{ name: "powercut", argv: ["/sbin/vector-boot", GUEST], env: { BUN_BE_BUN: "1" }, restart: "never", keep_all_capabilities: true }],
  })}\n`,
);
const image = buildInitramfs({ ...imageBase(exe, config, say), modules: { dir: kernel.modulesDir, version: kernel.version, names: modules }, files: [{ src: guestJs, dest: GUEST }] });
const initrd = join(work, "initramfs.cpio.zst");
writeFileSync(initrd, image.bytes);
const disk = join(work, "state-disk.img");
writeFileSync(disk, "");
truncateSync(disk, 64 * 1048576);
sh(say, [mkfs, "-q", "-F", "-L", "vb-state", "-E", "lazy_itable_init=0,lazy_journal_init=0", disk], "mkfs.ext4");
say(`state disk ${disk}: 64 MiB ext4 on ${fsType}, cache=${CACHE}; initramfs ${image.bytes.length} bytes`);

type Json = Record<string, any>;
const lineRe = /powercut: (\S+) (\{.*\})\s*$/;
function parse(text: string): { what: string; j: Json }[] {
  const out: { what: string; j: Json }[] = [];
  for (const l of text.split("\n")) {
    const m = lineRe.exec(l.replace(/\r/g, ""));
    if (!m) continue;
    try {
      out.push({ what: m[1]!, j: JSON.parse(m[2]!) });
    } catch {
      // a line cut by kernel output: not counted (an ack read only in part is not an ack)
    }
  }
  return out;
}

let rs = seed >>> 0;
const rnd = () => (rs = (Math.imul(rs, 1103515245) + 12345) >>> 0) / 2 ** 32;
function fail(r: BootResult | null, why: string): never {
  if (r) printConsole(r.text, "console log of the failing boot");
  say(`kept for inspection: ${work}`);
  die(say, `FAILED: ${why}`);
}

interface Round {
  state: Json;
  /** Acknowledgements the host had read when it killed QEMU (in stream order). */
  acked: { i: number; j: number; us: number }[];
  delayMs: number;
  fsync: Json | null;
  wallS: number;
  r: BootResult;
}

/** One boot: waits for the guest's state line and its first ack, then SIGKILLs QEMU `delayMs` later (final: waits for the power-off). */
async function boot(round: number, finalBoot: boolean): Promise<Round> {
  const delayMs = finalBoot ? 0 : Math.round(200 + rnd() * 2800);
  let latest = "";
  let killText: string | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let scanned = 0;
  const cmdline = [...applianceCmdline(), `vbtest.round=${round}`, `vbtest.seed=${seed + round}`, ...(finalBoot ? ["vbtest.final=1"] : []), "vector.heartbeat_log_every=0", "vector.shutdown_after=600"];
  const r = await bootQemu({
    say, qemu, kernel: kernel.vmlinuz, initrd, cmdline, timeoutS, disks: [disk], diskCache: CACHE,
    onConsole(text, kill) {
      latest = text;
      if (finalBoot || timer) return;
      const nl = text.lastIndexOf("\n");
      if (nl <= scanned) return;
      const fresh = text.slice(scanned, nl);
      scanned = nl;
      if (!fresh.includes("powercut: ack {")) return;
      timer = setTimeout(() => {
        killText = latest; // what the host has read at the instant of the cut is what counts as acknowledged
        kill(`power cut ${delayMs} ms after the first ack`);
      }, delayMs);
    },
  });
  if (timer) clearTimeout(timer);
  if (opt["keep-log"]) writeFileSync(`${opt["keep-log"]}.boot${round}.log`, r.text);
  const lines = parse(r.text);
  const err = lines.find((l) => l.what === "error" || l.what === "refused");
  if (err) fail(r, `round ${round}: the guest says ${err.what} ${JSON.stringify(err.j)}`);
  const state = lines.find((l) => l.what === "state")?.j ?? fail(r, `round ${round}: no \`powercut: state\` line (${r.killedFor ?? `QEMU exited ${r.exitCode}`})`);
  if (finalBoot) {
    if (r.killedFor) fail(r, `final boot: QEMU killed: ${r.killedFor}`);
  } else if (!r.killedFor?.startsWith("power cut")) fail(r, `round ${round}: QEMU was not cut by the test (${r.killedFor ?? `exited ${r.exitCode}`})`);
  const acked = finalBoot ? [] : parse(killText ?? "").filter((l) => l.what === "ack").map((l) => l.j as Round["acked"][number]);
  if (!state.whole) fail(r, `round ${round}: the checkpoint the guest read back fails its size or CRC32C: ${JSON.stringify(state.checkpoint)}`);
  return { state, acked, delayMs, fsync: lines.find((l) => l.what === "fsync")?.j ?? null, wallS: r.wallS, r };
}

const values = (state: Json): Map<string, Float32Array> => new Map(POWERCUT_TENSORS.map(([t]) => [t, decodeValues(state.values[t])]));
const equal = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) =>
  [...a].every(([t, x]) => {
    const y = b.get(t)!;
    return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  });

/**
 * The weights after the cut must be the weights before the round plus the first k mutations of the
 * round's stream, whole, for some k >= the number acknowledged (one ring: journal order is stream order).
 * Returns k, or null when no prefix matches (a lost acknowledgement or a torn tensor).
 */
function prefixFound(before: Map<string, Float32Array>, after: Map<string, Float32Array>, streamSeed: number, acked: number): number | null {
  const w = new Map([...before].map(([t, x]) => [t, x.slice()]));
  for (let k = 0; k <= acked + 10_000; k++) {
    if (k >= acked && equal(w, after)) return k;
    const m = streamMutation(streamSeed, k);
    w.get(m.tensor)!.set(m.values, m.offset);
  }
  return null;
}

const results: string[] = [];
let prev = await boot(0, false);
const fsyncFloor = prev.fsync;
const ackLatency: number[] = [];
const started = performance.now();
for (let round = 0; round < kills; round++) {
  const next = await boot(round + 1, round + 1 === kills);
  const acked = prev.acked;
  // The guest printed acks in stream order; one lost line would break the count.
  if (acked.some((a, idx) => a.i !== idx)) fail(prev.r, `round ${round}: the acknowledgements read are not the stream's prefix`);
  const lastJ = acked.at(-1)?.j ?? 0;
  const nextSeq = next.state.journal?.nextSeq ?? 0;
  if (acked.length > 0 && !(nextSeq > lastJ)) fail(next.r, `round ${round}: the journal restarts at ${nextSeq}, before the last acknowledged sequence ${lastJ}`);
  const k = prefixFound(values(prev.state), values(next.state), seed + round, acked.length);
  const line = `round ${round}: power cut ${prev.delayMs} ms after the first ack: acked before kill ${acked.length} (last journal seq ${lastJ}), found after boot ${k ?? "NONE"} (journal next seq ${nextSeq}, checkpoint ${next.state.checkpoint.file} whole)`;
  say(line);
  results.push(line);
  if (k === null) fail(next.r, `round ${round}: the weights after the cut are not the weights before plus a whole prefix of >= ${acked.length} stream mutations (lost acknowledged mutation or torn tensor)`);
  if (acked.length === 0) fail(prev.r, `round ${round}: no acknowledgement was read before the cut (the test proves nothing)`);
  ackLatency.push(...acked.map((a) => a.us / 1000));
  prev = next;
}
rmSync(work, { recursive: true, force: true });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const p50 = pct(ackLatency, 50);
const p99 = pct(ackLatency, 99);
say(`in-guest raw append+fdatasync on the same virtio disk: p50 ${fsyncFloor?.p50?.toFixed(3)} ms p99 ${fsyncFloor?.p99?.toFixed(3)} ms (n ${fsyncFloor?.n})`);
say(`in-guest ack latency (one in flight, the ${ackLatency.length} acks read before the cuts): p50 ${p50.toFixed(3)} ms p99 ${p99.toFixed(3)} ms; ratio to fdatasync p50 ${(p50 / fsyncFloor?.p50).toFixed(2)}x, p99 ${(p99 / fsyncFloor?.p99).toFixed(2)}x`);
say(`passed: ${kills} power cuts, every acknowledged mutation found whole after the next boot (${((performance.now() - started) / 1000).toFixed(0)} s of boots)`);
