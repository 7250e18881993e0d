// QEMU boot time: kernel start -> first heartbeat of the plain appliance (no config), split into stages, per image.
// Usage: bun scripts/qemu-boot-time.ts [--compress ALG]... [--image FILE]... [--runs N] [--append "OPT ..."]
//        [--cpu MODEL] [--accel ACCEL] [--smp N] [--mem MIB] [--verbose-kernel] [--timeout S] [--json] [--keep-logs DIR]
//   --compress ALG  build the image with this compression (repeatable; as `vector-boot initramfs --compress`)
//   --image FILE    boot this prebuilt initramfs as it is (repeatable)
//   --append        more kernel command line options (the base is applianceCmdline() of scripts/qemu-support.ts)
//   --variant SPEC  boot every image also as LABEL;cpu=MODEL;accel=ACCEL;machine=TYPE;smp=N;append=OPTS (repeatable; any key may be
//                   left out and takes the value of the option of that name): variants interleave with the images
//   --keep-logs DIR write each boot's console to DIR/LABEL.RUN.log
// Images are booted round-robin, --runs times each; QEMU is killed at the first heartbeat. Prints one line per
// boot and the median per image; --json prints the medians as one JSON object on stdout.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { COMPRESSIONS, type Compression } from "../src/initramfs/compress.ts";
import { applianceCmdline, bootQemu, die, ensureKernel, ensureQemu, imageBase, prepareExecutable, qemuDir, sayer } from "./qemu-support.ts";
import { bootStages, type BootStages, printConsole } from "./qemu-console.ts";

const say = sayer("qemu-boot-time");
const { values: opt } = parseArgs({
  options: {
    compress: { type: "string", multiple: true },
    image: { type: "string", multiple: true },
    runs: { type: "string", default: "1" },
    append: { type: "string", default: "" },
    cpu: { type: "string" },
    accel: { type: "string" },
    smp: { type: "string", default: "1" },
    mem: { type: "string", default: "1024" },
    "verbose-kernel": { type: "boolean", default: false },
    timeout: { type: "string", default: "120" },
    json: { type: "boolean", default: false },
    "keep-logs": { type: "string" },
    variant: { type: "string", multiple: true },
  },
});
const runs = Number(opt.runs);
const timeoutS = Number(opt.timeout);
if (!(runs >= 1) || !(timeoutS > 0)) die(say, "--runs and --timeout must be positive numbers");
for (const c of opt.compress ?? []) if (!COMPRESSIONS.includes(c as Compression)) die(say, `--compress ${c}: expected one of ${COMPRESSIONS.join(", ")}`);

mkdirSync(qemuDir, { recursive: true });
const qemu = ensureQemu(say);
const kernel = ensureKernel(say).vmlinuz;
const images: { label: string; path: string }[] = (opt.image ?? []).map((p) => ({ label: basename(p), path: p }));
if (opt.compress?.length) {
  const exe = await prepareExecutable(say);
  for (const c of opt.compress) {
    const t0 = performance.now();
    const r = buildInitramfs({ ...imageBase(exe, undefined, () => {}), compression: c as Compression });
    const path = join(qemuDir, `boot-time.${c}.img`);
    writeFileSync(path, r.bytes);
    say(`${c}: ${r.bytes.length} bytes (${(r.bytes.length / 1048576).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    images.push({ label: c, path });
  }
}
if (images.length === 0) die(say, "nothing to boot: give --compress or --image");

const baseCmdline = [...applianceCmdline(opt["verbose-kernel"]), "vector.shutdown_after=60"];
const words = (x: string) => x.split(/\s+/).filter(Boolean);
interface Variant {
  label: string;
  cpu?: string;
  accel?: string;
  machine?: string;
  smp: number;
  append: string[];
}
const base: Variant = { label: "", cpu: opt.cpu, accel: opt.accel, smp: Number(opt.smp), append: words(opt.append) };
const variants: Variant[] = (opt.variant ?? []).map((spec) => {
  const [label, ...kvs] = spec.split(";");
  const v: Variant = { ...base, label: label! };
  for (const kv of kvs) {
    const [k, val = ""] = [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)];
    if (k === "cpu") v.cpu = val;
    else if (k === "accel") v.accel = val;
    else if (k === "machine") v.machine = val;
    else if (k === "smp") v.smp = Number(val);
    else if (k === "append") v.append = [...base.append, ...words(val)];
    else die(say, `--variant ${spec}: unknown key ${JSON.stringify(k)} (cpu, accel, machine, smp, append)`);
  }
  if (!label || !(v.smp >= 1)) die(say, `--variant ${spec}: expected LABEL;key=value;...`);
  return v;
});
const cases = images.flatMap((img) => (variants.length ? variants : [base]).map((v) => ({ ...img, v, label: v.label ? `${img.label}+${v.label}` : img.label })));
const fmt = (x: number | null) => (x === null ? "?" : x.toFixed(0));
const KEYS = ["kernel", "unpack", "preinit", "bunStart", "runtime", "firstBeat", "total"] as const;
const samples = new Map<string, BootStages[]>(cases.map((c) => [c.label, []]));
say(`stages (ms): ${KEYS.join(" / ")}`);
for (let run = 0; run < runs; run++) {
  for (const c of cases) {
    const boot = await bootQemu({
      say: () => {},
      qemu,
      kernel,
      initrd: c.path,
      cmdline: [...baseCmdline, ...c.v.append],
      timeoutS,
      memMib: Number(opt.mem),
      smp: c.v.smp,
      cpu: c.v.cpu,
      accel: c.v.accel,
      machine: c.v.machine,
      onConsole: (text, kill) => {
        if (/heartbeat: first heartbeat .*since_kernel_ms=[\d.]+\s/.test(text)) kill("first heartbeat");
      },
    });
    const s = bootStages(boot.text);
    if (s.total === null) {
      printConsole(boot.text);
      die(say, `${c.label}: no first heartbeat (${boot.killedFor ?? `QEMU exited ${boot.exitCode}`})`);
    }
    samples.get(c.label)!.push(s);
    if (opt["keep-logs"]) writeFileSync(join(opt["keep-logs"], `${c.label}.${run + 1}.log`), boot.text);
    say(`${c.label} run ${run + 1}: ${KEYS.map((k) => fmt(s[k])).join(" / ")} (QEMU wall ${boot.wallS.toFixed(1)} s)`);
  }
}
const median = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)]! : null;
};
const result: Record<string, Record<string, number | null>> = {};
for (const c of cases) {
  const s = samples.get(c.label)!;
  result[c.label] = { bytes: statSync(c.path).size, ...Object.fromEntries(KEYS.map((k) => [k, median(s.map((x) => x[k]))])) };
  say(`${c.label} median of ${s.length}: ${KEYS.map((k) => `${k} ${fmt(result[c.label]![k]!)}`).join(", ")}; ${(statSync(c.path).size / 1048576).toFixed(1)} MiB`);
}
if (opt.json) process.stdout.write(`${JSON.stringify(result)}\n`);
