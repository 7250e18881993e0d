// QEMU state-disk test: two boots on one ext4 virtio disk; mutations of boot 1 are live in boot 2, kernel.* refused in both.
// Usage: bun scripts/qemu-state-disk.ts [--timeout S (per boot)] [--disk-mib N] [--keep-log PREFIX] [--strict] [--verbose-kernel]
import { mkdirSync, rmSync, truncateSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dequantize, readGguf } from "../src/gguf/index.ts";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { applianceCmdline, bootQemu, type BootResult, die, ensureKernel, ensureQemu, ensureTool, prepareExecutable, qemuDir, root, sayer, sh, splitBuiltin, imageBase } from "./qemu-support.ts";
import { bootFailure, bootSources, type Check, printConsole, runChecks } from "./qemu-console.ts";

const say = sayer("qemu-state-disk");
const { values: opt } = parseArgs({
  options: {
    timeout: { type: "string", default: "150" },
    "disk-mib": { type: "string", default: "64" },
    "keep-log": { type: "string" },
    strict: { type: "boolean", default: false },
    "verbose-kernel": { type: "boolean", default: false },
  },
});
const timeoutS = Number(opt.timeout);
const diskMib = Number(opt["disk-mib"]);
if (!(timeoutS > 0) || !Number.isInteger(diskMib) || diskMib < 16) {
  say("--timeout must be a positive number of seconds, --disk-mib an integer >= 16");
  process.exit(64);
}

const STATE_DIR = "/var/lib/vector-boot";
const GUEST = "/etc/vector-boot/state-disk-guest.ts";
/** What the disk needs: the PCI transport, the block driver, ext4 and the crc32c it asks the crypto API for (metadata_csum). */
const WANTED = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"];
/** Kept in step with scripts/state-disk-guest.ts (what it mutates in each boot). */
const MUTATED = { 1: { tensor: "pixel.1.bias", offset: 0, value: 4.5 }, 2: { tensor: "pixel.1.bias", offset: 1, value: -3.25 } } as const;

// Per run (several runs may share the tree): removed when the run passes, kept for a look when it fails.
const work = join(qemuDir, `state-disk-${process.pid}`);
mkdirSync(work, { recursive: true });
const qemu = ensureQemu(say);
const kernel = ensureKernel(say);
const mkfs = ensureTool(say, "mkfs.ext4", "e2fsprogs");
const debugfs = ensureTool(say, "debugfs", "e2fsprogs");
const exe = await prepareExecutable(say);

// The image: modules (the built-in ones are only named in the config: the init logs them as built in).
const { modules, builtin } = splitBuiltin(say, kernel, WANTED);
say(`kernel ${kernel.version}: modules to ship: ${modules.join(", ") || "none"}; built in: ${builtin.join(", ") || "none"}`);
const config = join(work, "config.json");
const configJson = {
  modules: WANTED,
  mounts: [{ source: "/dev/vda", target: STATE_DIR, fstype: "ext4", options: "", wait_ms: 15_000 }],
  services: [{ name: "state-disk-check", argv: ["/sbin/vector-boot", GUEST], env: { BUN_BE_BUN: "1" }, restart: "never" }],
};
writeFileSync(config, `${JSON.stringify(configJson, null, 2)}\n`);
const t0 = performance.now();
const image = buildInitramfs({
  ...imageBase(exe, config, say),
  modules: { dir: kernel.modulesDir, version: kernel.version, names: modules },
  files: [{ src: join(root, "scripts/state-disk-guest.ts"), dest: GUEST }],
});
const initrd = join(work, "initramfs.cpio.zst");
writeFileSync(initrd, image.bytes);
say(`initramfs ${initrd}: ${image.bytes.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// A fresh ext4 disk (lazy init off: no background writer in the guest).
const disk = join(work, "state-disk.img");
rmSync(disk, { force: true });
writeFileSync(disk, "");
truncateSync(disk, diskMib * 1048576);
sh(say, [mkfs, "-q", "-F", "-L", "vb-state", "-E", "lazy_itable_init=0,lazy_journal_init=0", disk], "mkfs.ext4");
say(`state disk ${disk}: ${diskMib} MiB ext4`);

type Json = Record<string, unknown>;
/** The guest's `state-disk: STEP {json}` lines, by step (the last of each). */
function guestResults(text: string): Map<string, Json> {
  const m = new Map<string, Json>();
  for (const line of text.split("\n")) {
    const r = /state-disk: (\S+) (\{.*\})\s*$/.exec(line);
    if (!r) continue;
    try {
      m.set(r[1]!, JSON.parse(r[2]!) as Json);
    } catch {
      // a line cut by kernel output: that step counts as missing
    }
  }
  return m;
}

/** Fails the whole run: the console of that boot, the step, exit 1. */
function fail(boot: number, r: BootResult | null, step: string): never {
  if (r) printConsole(r.text, `console log of boot ${boot}`);
  say(`kept for inspection: ${work} (state-disk.img, initramfs.cpio.zst)`);
  die(say, `FAILED at step: ${step.startsWith(`boot ${boot}: `) ? step : `boot ${boot}: ${step}`}`);
}

const CHECKS: Check[] = [
  { step: "pre-init ran as PID 1", re: /vector-boot pre-init: started \(pid 1\)/, literal: "started (pid %s)" },
  { step: "phase storage", re: /boot: phase storage modules=\S*ext4/, literal: "phase storage" },
  { step: "virtio_blk loaded", re: /modules: (loaded|already loaded|built into the kernel) name=virtio_blk\b/, literal: "loaded", ordered: false },
  { step: "ext4 loaded", re: /modules: (loaded|already loaded|built into the kernel) name=ext4\b/, literal: "loaded", ordered: false },
  { step: `state disk mounted on ${STATE_DIR}`, re: new RegExp(`boot: mounted .*target=${STATE_DIR} fstype=ext4`), literal: "mounted" },
  { step: "phase evolution on the state disk", re: new RegExp(`boot: phase evolution .*state_dir=${STATE_DIR} `), literal: "phase evolution" },
  { step: "guest driver started", re: /supervisor: service started service=state-disk-check/, literal: "service started" },
  { step: "guest driver finished", re: /state-disk: done \{/, literal: "", ordered: false },
  { step: "shutdown", re: /shutdown: phase shutdown reason=/, literal: "phase shutdown" },
  { step: "checkpoint written at shutdown", re: /boot: checkpoint written coveredSeq=\d+/, literal: "checkpoint written" },
  { step: `${STATE_DIR} unmounted after the checkpoint`, re: new RegExp(`boot: unmounted target=${STATE_DIR}`), literal: "unmounted" },
  { step: "init powers off", re: /shutdown: poweroff now/, literal: "now`" },
  { step: "kernel powered down", re: /reboot: Power down/, literal: "" },
];
/** Lines that fail a boot wherever they appear. */
const FORBIDDEN = [/modules: (load failed|unknown module|no module index)/, /boot: (mount failed|mount source did not appear)/, /evolution disabled/, /could not unmount/, /boot failed/];

const sources = bootSources();
async function boot(phase: 1 | 2): Promise<{ r: BootResult; g: Map<string, Json>; evolution: RegExpExecArray }> {
  const cmdline = [...applianceCmdline(opt["verbose-kernel"]), `vbtest.phase=${phase}`, "vector.shutdown_after=60", "vector.heartbeat_log_every=0"];
  const r = await bootQemu({ say, qemu, kernel: kernel.vmlinuz, initrd, cmdline, timeoutS, disks: [disk] });
  if (opt["keep-log"]) writeFileSync(`${opt["keep-log"]}.boot${phase}.log`, r.text);
  say(`boot ${phase}: QEMU wall time ${r.wallS.toFixed(1)} s`);
  const lines = r.text.split("\n");
  const { failed, pending } = runChecks(say, lines, CHECKS, { strict: opt.strict, sources, label: `boot ${phase}` });
  const bad = lines.find((l) => FORBIDDEN.some((re) => re.test(l)));
  // The first failed step, with why QEMU ended badly when it did (killed at the time limit, panic).
  const ended = bootFailure(r);
  const why = failed ? `${failed}${ended ? ` (${ended})` : ""}` : (ended ?? (bad ? `the console says: ${bad.trim()}` : null));
  if (why) fail(phase, r, why);
  if (pending.length) say(`pending: ${pending.join("; ")}`);
  const evolution = /boot: phase evolution .*checkpoint=(\S+) replayed=(\d+) journal_seq=(\d+)/.exec(r.text) ?? fail(phase, r, "no `phase evolution ... checkpoint= replayed= journal_seq=` line");
  return { r, g: guestResults(r.text), evolution };
}

const get = (phase: 1 | 2, b: { r: BootResult; g: Map<string, Json> }, step: string): Json => b.g.get(step) ?? fail(phase, b.r, `the guest printed no (readable) \`state-disk: ${step}\` line`);
const output = (j: Json): number[] | null => (Array.isArray(j.output) && j.output.every((x) => typeof x === "number") ? (j.output as number[]) : null);
const ok = (phase: 1 | 2, b: { r: BootResult }, cond: boolean, step: string, detail: string) => {
  if (!cond) fail(phase, b.r, `${step}: ${detail}`);
  say(`ok       boot ${phase}: ${step}: ${detail}`);
};

/** The guest's verdicts of one boot: kernel.* refused, its mutation accepted with `expectSeq` (or any when null), pixel output moved. */
function judgeGuest(phase: 1 | 2, b: { r: BootResult; g: Map<string, Json> }, expectSeq: number | null): { seq: number; before: number[]; after: number[] } {
  const k = get(phase, b, "mutate-kernel");
  const kr = k.result as Json;
  ok(phase, b, k.exit === 65 && kr?.statusName === "PROTECTED_TENSOR", "kernel.* mutation rejected", `exit ${k.exit}, ${JSON.stringify(kr)}`);
  const a = get(phase, b, "mutate-accepted");
  const ar = a.result as Json;
  const seq = typeof ar?.journalSeq === "number" ? ar.journalSeq : NaN;
  ok(phase, b, a.exit === 0 && ar?.statusName === "ACCEPTED" && seq >= 1 && (expectSeq === null || seq === expectSeq), "mutation accepted", `exit ${a.exit}, ${JSON.stringify(ar)}${expectSeq === null ? "" : ` (expected journal sequence ${expectSeq})`}`);
  const before = output(get(phase, b, "pixels-before")) ?? fail(phase, b.r, "pixels-before has no output");
  const after = output(get(phase, b, "pixels-after")) ?? fail(phase, b.r, "pixels-after has no output");
  ok(phase, b, JSON.stringify(before) !== JSON.stringify(after), "the mutation changed the live pixel output", `output[${MUTATED[phase].offset}] ${before[MUTATED[phase].offset]?.toFixed(4)} -> ${after[MUTATED[phase].offset]?.toFixed(4)}`);
  const st = get(phase, b, "status-after").journal as Json | null;
  ok(phase, b, typeof st?.durableSeq === "number" && st.durableSeq >= seq && st.nextSeq === seq + 1, "journal durable past the mutation", JSON.stringify(st));
  return { seq, before, after };
}

/** Reads the newest checkpoint on the disk image (debugfs, no mount) and returns its covered sequence and the value of `tensor[offset]`. */
function checkpointOnDisk(phase: 1 | 2, r: BootResult, tensor: string, offset: number): { covered: number; value: number } {
  const ls = sh(say, [debugfs, "-R", "ls -p /checkpoints", disk], "debugfs ls");
  const names = [...ls.matchAll(/\/(ckpt-(\d+)\.gguf)\//g)].map((m) => ({ name: m[1]!, covered: Number(m[2]) })).sort((x, y) => x.covered - y.covered);
  const newest = names.at(-1) ?? fail(phase, r, `no checkpoint in /checkpoints on the disk image:\n${ls}`);
  const out = join(work, "checkpoint.gguf");
  rmSync(out, { force: true });
  sh(say, [debugfs, "-R", `dump /checkpoints/${newest.name} ${out}`, disk], "debugfs dump");
  const g = readGguf(new Uint8Array(readFileSync(out)));
  const t = g.tensorByName(tensor) ?? fail(phase, r, `${newest.name} has no tensor ${tensor}`);
  return { covered: newest.covered, value: dequantize(t, g.littleEndian)[offset]! };
}

// Boot 1: fresh disk.
const b1 = await boot(1);
ok(1, b1, b1.evolution[1] === "base" && b1.evolution[2] === "0", "evolution started from the base on a fresh disk", b1.evolution[0]);
const j1 = judgeGuest(1, b1, Number(b1.evolution[3]));
const c1 = checkpointOnDisk(1, b1.r, MUTATED[1].tensor, MUTATED[1].offset);
ok(1, b1, c1.covered >= j1.seq && Math.abs(c1.value - MUTATED[1].value) < 1e-6, "the disk holds a checkpoint with the mutation", `ckpt covers seq ${c1.covered}, ${MUTATED[1].tensor}[${MUTATED[1].offset}] = ${c1.value}`);

// Boot 2: same disk.
const b2 = await boot(2);
const [, ckpt, replayed, next] = b2.evolution;
// Checkpoint records take journal sequence numbers too: the position is past boot 1's mutation, not necessarily right after it.
ok(2, b2, (ckpt !== "base" || Number(replayed) >= 1) && Number(next) > j1.seq, "evolution recovered boot 1's mutation", b2.evolution[0]);
const before2 = output(get(2, b2, "pixels-before")) ?? fail(2, b2.r, "pixels-before has no output");
ok(2, b2, JSON.stringify(before2) === JSON.stringify(j1.after), "live pixel output after the reboot equals boot 1's after its mutation", `output[${MUTATED[1].offset}] ${before2[MUTATED[1].offset]?.toFixed(4)} (base ${j1.before[MUTATED[1].offset]?.toFixed(4)})`);
const st2 = get(2, b2, "status-before").journal as Json | null;
ok(2, b2, st2?.nextSeq === Number(next) && typeof st2?.durableSeq === "number" && st2.durableSeq >= j1.seq, "journal position continues from the disk", JSON.stringify(st2));
const j2 = judgeGuest(2, b2, Number(next));
const c2 = checkpointOnDisk(2, b2.r, MUTATED[2].tensor, MUTATED[2].offset);
ok(2, b2, c2.covered >= j2.seq && Math.abs(c2.value - MUTATED[2].value) < 1e-6, "the disk holds a checkpoint with boot 2's mutation", `ckpt covers seq ${c2.covered}, ${MUTATED[2].tensor}[${MUTATED[2].offset}] = ${c2.value}`);
rmSync(work, { recursive: true, force: true });
say(`passed (boot 1 ${b1.r.wallS.toFixed(1)} s, boot 2 ${b2.r.wallS.toFixed(1)} s)`);
