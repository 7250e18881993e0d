// QEMU smoke test: boots dist/vector-boot in an initramfs on a Debian kernel and checks the serial console.
// Usage: bun scripts/qemu-smoke.ts [--timeout S] [--shutdown-after S] [--model FILE.gguf] [--compress gzip|zstd|none]
//        [--keep-log FILE] [--strict] [--verbose-kernel]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { appendModel, locateEmbeddedModel } from "../src/rts/embed.ts";

/**
 * What the console must show, in boot order. `literal` is looked up in the boot sequence's sources
 * (native/preinit.c, src/main.ts, src/boot, src/supervisor, src/heartbeat): a check whose literal is not
 * there yet is PENDING (reported, not failed) unless --strict. `count` asks for that many matches.
 * `ordered: false` skips the order check (output of a service interleaves with the init's).
 */
const CHECKS: { step: string; re: RegExp; literal: string; count?: number; ordered?: boolean }[] = [
  { step: "pre-init ran as PID 1", re: /vector-boot pre-init: started \(pid 1\)/, literal: "started (pid %s)" },
  { step: "pre-init mounted and exec'd /sbin/vector-boot", re: /vector-boot pre-init: mounted .* exec \/sbin\/vector-boot/, literal: "; exec %s" },
  { step: "phase early as PID 1", re: /boot: phase early mode=pid1 pid=1 preinit=true/, literal: "phase early" },
  { step: "phase config (1 service from /etc/vector-boot/config.json)", re: /config: phase config services=1 /, literal: "phase config" },
  { step: "phase init-runtime", re: /boot: phase init-runtime/, literal: "phase init-runtime" },
  { step: "model mapped from the executable", re: /boot: phase load-gguf origin=embedded .*bytes_mapped=(\d+)/, literal: "phase load-gguf" },
  { step: "model validated (tensor count)", re: /boot: .*\btensors=(\d+)/, literal: "tensors:" },
  { step: "pixel test succeeded", re: /boot: phase pixel-test .*\b(ok|passed|succeeded)\b/, literal: "phase pixel-test" },
  { step: "phase services", re: /boot: phase services count=1 order=smoke-verify/, literal: "phase services" },
  { step: "service started", re: /supervisor: service started service=smoke-verify pid=\d+/, literal: "service started" },
  { step: "service ran (its output on the console)", re: /\/sbin\/vector-boot: embedded, \d+ bytes, model \d+ bytes at \d+, checksums ok, GGUF ok \(\d+ tensors\)/, literal: "phase services", ordered: false },
  { step: "phase heartbeat", re: /heartbeat: phase heartbeat period_ms=\d+/, literal: "phase heartbeat" },
  { step: "first heartbeat with boot timings", re: /heartbeat: first heartbeat .*since_kernel_ms=([\d.]+) .*since_exec_ms=([\d.]+)/, literal: "first heartbeat" },
  { step: "at least three heartbeats", re: /heartbeat: beat n=\d+/, literal: '"beat"', count: 3 },
  { step: "shutdown requested by vector.shutdown_after", re: /shutdown: phase shutdown reason="?shutdown_after=[\d.]+s"? mode=poweroff/, literal: "phase shutdown" },
  { step: "init powers off", re: /shutdown: poweroff now/, literal: "now`" },
  { step: "kernel powered down", re: /reboot: Power down/, literal: "" },
];
const PANIC = /Kernel panic|end Kernel panic|Attempted to kill init/;

const root = resolve(import.meta.dir, "..");
const cache = join(root, ".cache");
const say = (line: string) => process.stderr.write(`qemu-smoke: ${line}\n`);

const { values: opt } = parseArgs({
  options: {
    timeout: { type: "string", default: "240" },
    "shutdown-after": { type: "string", default: "3" },
    model: { type: "string" },
    compress: { type: "string", default: "gzip" },
    "keep-log": { type: "string" },
    strict: { type: "boolean", default: false },
    "verbose-kernel": { type: "boolean", default: false },
  },
});
const timeoutS = Number(opt.timeout);
const shutdownAfter = Number(opt["shutdown-after"]);
if (!(timeoutS > 0) || !(shutdownAfter > 0)) {
  say("--timeout and --shutdown-after must be positive numbers of seconds");
  process.exit(64);
}
const compression = opt.compress as "gzip" | "zstd" | "none";
if (!["gzip", "zstd", "none"].includes(compression)) {
  say("--compress must be gzip, zstd or none");
  process.exit(64);
}

function sh(argv: string[], what: string, cwd = root): string {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000 });
  if (r.exitCode !== 0) {
    say(`${what} failed (exit ${r.exitCode}): ${argv.join(" ")}\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  return r.stdout.toString();
}

let aptUpdated = false;
function aptUpdate(): void {
  if (aptUpdated) return;
  say("apt-get update");
  sh(["apt-get", "update", "-qq"], "apt-get update");
  aptUpdated = true;
}

/** qemu-system-x86_64 from Debian's packages when missing. */
function ensureQemu(): string {
  const have = Bun.which("qemu-system-x86_64");
  if (have) return have;
  aptUpdate();
  say("installing qemu-system-x86");
  sh(["apt-get", "install", "-y", "--no-install-recommends", "qemu-system-x86"], "apt-get install qemu-system-x86");
  const q = Bun.which("qemu-system-x86_64");
  if (!q) {
    say("qemu-system-x86_64 still missing after apt-get install");
    process.exit(1);
  }
  return q;
}

/** A Debian kernel (the package linux-image-amd64 points to), downloaded and extracted into .cache/kernel. */
function ensureKernel(): string {
  const dir = join(cache, "kernel");
  const boot = join(dir, "root", "boot");
  const find = () => (existsSync(boot) ? readdirSync(boot).filter((f) => f.startsWith("vmlinuz-")).sort() : []);
  if (find().length === 0) {
    mkdirSync(dir, { recursive: true });
    const depOf = () => /Depends: (linux-image-\S+)/.exec(Bun.spawnSync(["apt-cache", "depends", "linux-image-amd64"], { stdout: "pipe" }).stdout.toString())?.[1];
    let pkg = depOf();
    if (!pkg) {
      aptUpdate();
      pkg = depOf();
    }
    if (!pkg) {
      say("cannot find a linux-image-*-amd64 package (apt-cache depends linux-image-amd64)");
      process.exit(1);
    }
    say(`downloading ${pkg}`);
    sh(["apt-get", "download", pkg], "apt-get download", dir);
    const deb = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
    if (!deb) {
      say(`apt-get download left no ${pkg}_*.deb in ${dir}`);
      process.exit(1);
    }
    sh(["dpkg", "-x", join(dir, deb), join(dir, "root")], "dpkg -x");
  }
  const k = find().at(-1);
  if (!k) {
    say(`no vmlinuz-* in ${boot}`);
    process.exit(1);
  }
  return join(boot, k);
}

/** dist/vector-boot with its model; a fixture model is appended to the bare executable when none is embedded yet. */
async function executable(): Promise<string> {
  const exe = join(root, "dist/vector-boot");
  // Incremental: rebuilds only what is older than its sources, so the image never boots a stale executable.
  say("scripts/build.ts");
  sh([process.execPath, join(root, "scripts/build.ts")], "scripts/build.ts");
  if (!opt.model && locateEmbeddedModel(exe)) return exe;
  const model = opt.model ?? resolve(root, "../shared/fixtures/gguf/ref-s1-a4096.gguf");
  const out = join(cache, "qemu", "vector-boot");
  const bare = existsSync(join(root, "dist/vector-boot.bare")) ? join(root, "dist/vector-boot.bare") : exe;
  say(`${opt.model ? "using" : "dist/vector-boot has no embedded model yet; using"} ${model}, appended to ${bare}`);
  await appendModel(bare, model, out);
  return out;
}

mkdirSync(join(cache, "qemu"), { recursive: true });
const qemu = ensureQemu();
const kernel = ensureKernel();
const exe = await executable();
const config = join(cache, "qemu", "config.json");
// The one service: vector-boot itself checking its embedded model; its output on the console shows it ran.
writeFileSync(config, `${JSON.stringify({ services: [{ name: "smoke-verify", argv: ["/sbin/vector-boot", "verify", "/sbin/vector-boot"], restart: "never" }] }, null, 2)}\n`);
const t0 = performance.now();
const image = buildInitramfs({
  preinit: join(root, "dist/native/preinit"),
  exe,
  config,
  runtimeLibs: existsSync(join(root, "dist/native/libvbshim.so")) ? [join(root, "dist/native/libvbshim.so")] : [],
  compression,
  progress: say,
});
const initrd = join(cache, "qemu", `initramfs.cpio${compression === "gzip" ? ".gz" : compression === "zstd" ? ".zst" : ""}`);
writeFileSync(initrd, image.bytes);
say(`initramfs ${initrd}: ${image.bytes.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Boot. Bun needs SSE4.2/AVX2-class instructions: "-cpu max" gives them under TCG (the default qemu64 CPU traps).
const cmdline = [
  "console=ttyS0",
  "panic=-1",
  ...(opt["verbose-kernel"] ? [] : ["quiet"]),
  `vector.shutdown_after=${shutdownAfter}`,
  "vector.heartbeat_log_every=1",
];
const argv = [qemu, "-nographic", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-m", "1024", "-accel", "tcg", "-cpu", "max", "-kernel", kernel, "-initrd", initrd, "-append", cmdline.join(" ")];
say(`booting: ${argv.join(" ")}`);
const started = performance.now();
const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
let log = "";
let killedFor: string | null = null;
const kill = (why: string) => {
  if (killedFor === null) killedFor = why;
  proc.kill("SIGKILL");
};
const timer = setTimeout(() => kill(`time limit of ${timeoutS} s reached`), timeoutS * 1000);
const pump = async (stream: ReadableStream<Uint8Array>) => {
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    log += dec.decode(chunk, { stream: true });
    // A panicked kernel with panic=-1 reboots and -no-reboot ends QEMU with 0: catch it here.
    if (PANIC.test(log)) setTimeout(() => kill("kernel panic"), 500);
  }
};
await Promise.all([pump(proc.stdout), pump(proc.stderr), proc.exited]);
clearTimeout(timer);
const exitCode = proc.exitCode;
const wallS = (performance.now() - started) / 1000;
const text = log.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, "").replace(/\r/g, "");
if (opt["keep-log"]) writeFileSync(opt["keep-log"], text);

// Checks.
const sources = ["native/preinit.c", "src/main.ts", ...["src/boot", "src/supervisor", "src/heartbeat"].flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((f) => `${d}/${f}`) : []))]
  .filter((f) => f.endsWith(".ts") || f.endsWith(".c"))
  .map((f) => readFileSync(join(root, f), "utf8"))
  .join("\n");
const lines = text.split("\n");
let failed: string | null = null;
const pending: string[] = [];
let lastIndex = -1;
for (const c of CHECKS) {
  const hits = lines.map((l, i) => (c.re.test(l) ? i : -1)).filter((i) => i >= 0);
  // Order: a step's first line may not come before the previous step's (two checks may read one line).
  const ok = hits.length >= (c.count ?? 1) && (c.ordered === false || hits[0]! >= lastIndex);
  if (ok) {
    if (c.ordered !== false) lastIndex = hits[0]!;
    say(`ok       ${c.step}${c.count ? ` (${hits.length})` : ""}: ${lines[hits[0]!]!.trim()}`);
  } else if (!opt.strict && c.literal && !sources.includes(c.literal)) {
    pending.push(c.step);
    say(`PENDING  ${c.step}: the boot sequence does not log it yet (no ${JSON.stringify(c.literal)} in its sources)`);
  } else if (!failed) {
    failed = hits.length > 0 && hits.length >= (c.count ?? 1) ? `${c.step} (found, but out of order)` : `${c.step}${c.count ? ` (${hits.length} of ${c.count})` : ""}`;
    say(`FAILED   ${c.step}`);
  }
}
if (killedFor) failed ??= `QEMU killed: ${killedFor}`;
if (PANIC.test(text)) failed ??= "kernel panic";
if (exitCode !== 0) failed ??= `QEMU exited ${exitCode} (expected 0 after power-off)`;

// Boot timings the init and the pre-init log.
const stamp = (re: RegExp) => {
  const l = lines.find((x) => re.test(x));
  const m = l && /^\[\s*([\d.]+)\]/.exec(l);
  return m ? Number(m[1]) : null;
};
const preinitAt = stamp(/pre-init: started/);
const execAt = stamp(/pre-init: mounted/);
const first = /first heartbeat .*since_kernel_ms=([\d.]+) .*since_exec_ms=([\d.]+)/.exec(text);
// The pre-init's exec stamp and the init's since_kernel_ms are both CLOCK_BOOTTIME: their difference is exec -> first beat.
const execToBeat = first && execAt !== null ? (Number(first[1]) - execAt * 1000).toFixed(1) : "?";
const powerAt = stamp(/reboot: Power down/);
say(
  `timings: kernel -> pre-init ${preinitAt ?? "?"} s; pre-init -> exec ${preinitAt !== null && execAt !== null ? ((execAt - preinitAt) * 1000).toFixed(1) : "?"} ms; ` +
    `first heartbeat ${first ? `${first[1]} ms after kernel start (init says ${first[2]} ms after exec; from the pre-init's exec stamp: ${execToBeat} ms)` : "?"}; power down at ${powerAt ?? "?"} s; QEMU wall time ${wallS.toFixed(1)} s`,
);
if (failed) {
  process.stderr.write(`\n----- console log (${lines.length} lines) -----\n${text}\n----- end of console log -----\n`);
  say(`FAILED at step: ${failed}`);
  process.exit(1);
}
say(`passed${pending.length ? `; pending (not logged by the boot sequence yet): ${pending.join("; ")}` : ""}`);
