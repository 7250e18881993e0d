// QEMU smoke test: boots dist/vector-boot in an initramfs on a Debian kernel and checks the serial console.
// Usage: bun scripts/qemu-smoke.ts [--timeout S] [--shutdown-after S] [--model FILE.gguf] [--compress gzip|zstd|none]
//        [--keep-log FILE] [--strict] [--verbose-kernel]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { bootFailure, bootQemu, bootSources, type Check, ensureKernel, ensureQemu, imageBase, prepareExecutable, printConsole, qemuDir, root, runChecks, sayer } from "./qemu-support.ts";

/**
 * What the console must show, in boot order. `literal` is looked up in the boot sequence's sources
 * (native/preinit.c, src/main.ts, src/boot, src/supervisor, src/heartbeat): a check whose literal is not
 * there yet is PENDING (reported, not failed) unless --strict. `count` asks for that many matches.
 * `ordered: false` skips the order check (output of a service interleaves with the init's).
 */
const CHECKS: Check[] = [
  { step: "pre-init ran as PID 1", re: /vector-boot pre-init: started \(pid 1\)/, literal: "started (pid %s)" },
  { step: "pre-init mounted and exec'd /sbin/vector-boot", re: /vector-boot pre-init: mounted .* exec \/sbin\/vector-boot/, literal: "; exec %s" },
  { step: "phase early as PID 1", re: /boot: phase early mode=pid1 pid=1 preinit=true/, literal: "phase early" },
  { step: "phase config (2 services from /etc/vector-boot/config.json)", re: /config: phase config services=2 /, literal: "phase config" },
  { step: "phase init-runtime", re: /boot: phase init-runtime/, literal: "phase init-runtime" },
  { step: "model mapped from the executable", re: /boot: phase load-gguf origin=embedded .*bytes_mapped=(\d+)/, literal: "phase load-gguf" },
  { step: "model validated (tensor count)", re: /boot: .*\btensors=(\d+)/, literal: "tensors:" },
  { step: "pixel test succeeded", re: /boot: phase pixel-test .*\b(ok|passed|succeeded)\b/, literal: "phase pixel-test" },
  { step: "phase services", re: /boot: phase services count=2 order=smoke-verify,live-reexec/, literal: "phase services" },
  { step: "service started", re: /supervisor: service started service=smoke-verify pid=\d+/, literal: "service started" },
  { step: "service ran (its output on the console)", re: /\/sbin\/vector-boot: embedded, \d+ bytes, model \d+ bytes at \d+, checksums ok, GGUF ok \(\d+ tensors\)/, literal: "phase services", ordered: false },
  { step: "phase heartbeat", re: /heartbeat: phase heartbeat period_ms=\d+/, literal: "phase heartbeat" },
  { step: "first heartbeat with boot timings", re: /heartbeat: first heartbeat .*since_kernel_ms=([\d.]+) .*since_exec_ms=([\d.]+)/, literal: "first heartbeat" },
  { step: "at least three heartbeats", re: /heartbeat: beat n=\d+/, literal: '"beat"', count: 3 },
  { step: "live re-exec (the live-reexec service asks over the control socket): new image resumes", re: /reexec: resuming after re-exec generation=1 /, literal: "resuming after re-exec", ordered: false },
  { step: "live re-exec: the running service is adopted by the new image", re: /supervisor: service adopted service=live-reexec pid=\d+/, literal: "service adopted", ordered: false },
  { step: "live re-exec: the beat goes on in the new image", re: /heartbeat: first heartbeat n=\d+/, literal: "first heartbeat", count: 2, ordered: false },
  { step: "shutdown requested by vector.shutdown_after", re: /shutdown: phase shutdown reason="?shutdown_after=[\d.]+s"? mode=poweroff/, literal: "phase shutdown" },
  { step: "init powers off", re: /shutdown: poweroff now/, literal: "now`" },
  { step: "kernel powered down", re: /reboot: Power down/, literal: "" },
];
const say = sayer("qemu-smoke");

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

mkdirSync(qemuDir, { recursive: true });
const qemu = ensureQemu(say);
const kernel = ensureKernel(say).vmlinuz;
const exe = await prepareExecutable(say, opt.model);
const config = join(qemuDir, "config.json");
// The one service: vector-boot itself checking its embedded model; its output on the console shows it ran.
writeFileSync(
  config,
  `${JSON.stringify(
    {
      services: [
        { name: "smoke-verify", argv: ["/sbin/vector-boot", "verify", "/sbin/vector-boot"], restart: "never" },
        // Asks PID 1 for one live re-exec through the control socket (waits for the boot to finish).
        { name: "live-reexec", argv: ["/sbin/vector-boot", "reexec"], restart: "never" },
      ],
    },
    null,
    2,
  )}\n`,
);
const t0 = performance.now();
const image = buildInitramfs({
  ...imageBase(exe, config, say),
  compression,
});
const initrd = join(qemuDir, `initramfs.cpio${compression === "gzip" ? ".gz" : compression === "zstd" ? ".zst" : ""}`);
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
const boot = await bootQemu({ say, qemu, kernel, initrd, cmdline, timeoutS });
const { text, wallS } = boot;
if (opt["keep-log"]) writeFileSync(opt["keep-log"], text);

// Checks.
const lines = text.split("\n");
const checked = runChecks(say, lines, CHECKS, { strict: opt.strict, sources: bootSources() });
const pending = checked.pending;
const failed = checked.failed ?? bootFailure(boot);

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
  printConsole(text);
  say(`FAILED at step: ${failed}`);
  process.exit(1);
}
say(`passed${pending.length ? `; pending (not logged by the boot sequence yet): ${pending.join("; ")}` : ""}`);
