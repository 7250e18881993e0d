// `docker run` for the appliance: boots an image under QEMU and exits with the machine's status (the main service's exit).
// Usage: bun scripts/vm-run.ts [--initrd IMG | --config FILE] [--timeout S] [--mem MIB] [--smp N] [--quiet] [--keep] [-- CMD [ARGS...]]
//   --initrd IMG   boot this image as it is (its config should have a `main: true` service and load virtio_console)
//   --config FILE  build the image from this config (virtio_pci and virtio_console added to its modules)
//   -- CMD...      the image's config gets one `main: true` service running CMD (added to --config's services);
//                  CMD's program is taken from the host PATH and copied into the image with its shared libraries
// The status line (src/boot/exit-status.ts) is read from the virtio-serial port vector-boot.status (a file on the host),
// else from the console; it is printed on stdout and its `exit` is this command's exit status. The console goes to
// stderr (unless --quiet: then the steps are printed only when vm-run fails). vm-run's own failures (usage, config,
// build, QEMU) and a VM that gave no status line (--timeout reached, kernel panic) exit 125.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseStatusLine, STATUS_PORT, statusLine } from "../src/boot/exit-status.ts";
import { validateConfig } from "../src/config/load.ts";
import { describeError } from "../src/errors.ts";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { readElf } from "../src/initramfs/elf.ts";
import { applianceCmdline, bootQemu, die, ensureKernel, ensureQemu, imageBase, prepareExecutable, qemuDir, sayer, setFailureStatus, splitBuiltin, STATUS_PORT_MODULES, statusPortArgs } from "./qemu-support.ts";
import { bootFailure } from "./qemu-console.ts";

const say = sayer("vm-run");
/** This command's status when it failed itself or the VM gave no status line (as `docker run` uses 125 for its own failures). */
const NO_STATUS = 125;
setFailureStatus(NO_STATUS);
/** Name of the service `-- CMD` runs. */
const MAIN_NAME = "main";

/** Options taking a value (the rest are flags). */
const VALUED = new Set(["--initrd", "--config", "--timeout", "--mem", "--smp"]);

/** Splits our options from CMD: at `--`, or at the first word that is not an option (`bun` drops the first `--`). */
function splitArgv(argv: string[]): { own: string[]; cmd: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return { own: argv.slice(0, i), cmd: argv.slice(i + 1) };
    if (!a.startsWith("-")) return { own: argv.slice(0, i), cmd: argv.slice(i) };
    if (VALUED.has(a)) i++;
  }
  return { own: argv, cmd: [] };
}
const { own, cmd } = splitArgv(process.argv.slice(2));
const usage = (why: string): never => {
  say(`${why}\nusage: bun scripts/vm-run.ts [--initrd IMG | --config FILE] [--timeout S] [--mem MIB] [--smp N] [--quiet] [--keep] [-- CMD [ARGS...]]`);
  process.exit(NO_STATUS);
};
const optSchema = z
  .object({
    initrd: z.string().min(1).optional(),
    config: z.string().min(1).optional(),
    timeout: z.coerce.number().positive().default(300),
    mem: z.coerce.number().int().min(256).optional(),
    smp: z.coerce.number().int().min(1).max(64).optional(),
    quiet: z.boolean().default(false),
    keep: z.boolean().default(false),
  })
  .strict()
  .refine((o) => !(o.initrd && o.config), "--initrd and --config exclude each other")
  .refine((o) => !(o.initrd && cmd.length > 0), "--initrd boots an image as it is: no -- CMD with it")
  .refine((o) => o.initrd || o.config || cmd.length > 0, "needs --initrd IMG, --config FILE or -- CMD");
function parseOptions(): z.infer<typeof optSchema> {
  let values: unknown;
  try {
    values = parseArgs({
      args: own,
      options: { initrd: { type: "string" }, config: { type: "string" }, timeout: { type: "string" }, mem: { type: "string" }, smp: { type: "string" }, quiet: { type: "boolean" }, keep: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
  const r = optSchema.safeParse(values);
  return r.success ? r.data : usage(r.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; "));
}
const opt = parseOptions();

mkdirSync(qemuDir, { recursive: true });
const work = mkdtempSync(join(qemuDir, "vm-run-"));
process.on("exit", () => (opt.keep ? writeSync(2, `vm-run: kept: ${work}\n`) : rmSync(work, { recursive: true, force: true })));
/** Progress of the steps (tools, build, boot); with --quiet kept, and printed only when vm-run fails. */
const held: string[] = [];
const progress: typeof say = opt.quiet ? (line) => void held.push(`vm-run: ${line}\n`) : say;
process.on("exit", (code) => {
  if (code === NO_STATUS && held.length > 0) writeSync(2, held.join(""));
});
const qemu = ensureQemu(progress);
const kernel = ensureKernel(progress);

/** The image's config: --config's (or none) with the status port's modules and, for `-- CMD`, the main service. */
function imageConfig(files: { src: string; dest: string }[], libs: string[]): string {
  let raw: Record<string, unknown> = {};
  if (opt.config) {
    try {
      raw = JSON.parse(readFileSync(opt.config, "utf8"));
    } catch (e) {
      say(`${opt.config}: ${(e as Error).message}`);
      process.exit(NO_STATUS);
    }
  }
  const modules = [...new Set([...((raw.modules as string[] | undefined) ?? []), ...STATUS_PORT_MODULES])];
  const services = [...((raw.services as unknown[] | undefined) ?? [])];
  if (cmd.length > 0) {
    const program = cmd[0]!.includes("/") ? resolve(cmd[0]!) : Bun.which(cmd[0]!);
    if (!program || !existsSync(program)) die(say, `${cmd[0]}: not found on the host PATH`);
    files.push({ src: program, dest: program });
    if (readElf(program)) libs.push(program);
    services.push({ name: MAIN_NAME, argv: [program, ...cmd.slice(1)], main: true, restart: "never" });
  }
  const merged = { ...raw, modules, services };
  try {
    // Here, not in the guest: a bad config fails before a minute of booting (ids as PID 1 would: warnings).
    validateConfig(merged, opt.config ?? "vm-run config", []);
  } catch (e) {
    say(describeError(e));
    process.exit(NO_STATUS);
  }
  if (!merged.services.some((s) => (s as { main?: boolean }).main)) say("warning: no service is main: the machine ends only by shutdown_after or a request");
  const path = join(work, "config.json");
  writeFileSync(path, `${JSON.stringify(merged, null, 2)}\n`);
  return path;
}

let initrd: string;
if (opt.initrd) {
  initrd = isAbsolute(opt.initrd) ? opt.initrd : resolve(opt.initrd);
  if (!existsSync(initrd)) die(say, `${initrd}: no such image`);
} else {
  const files: { src: string; dest: string }[] = [];
  const libs: string[] = [];
  const config = imageConfig(files, libs);
  const exe = await prepareExecutable(progress);
  const base = imageBase(exe, config, progress);
  const { modules } = splitBuiltin(progress, kernel, STATUS_PORT_MODULES);
  const image = buildInitramfs({ ...base, runtimeLibs: [...base.runtimeLibs, ...libs], files, modules: { dir: kernel.modulesDir, version: kernel.version, names: modules } });
  initrd = join(work, "initramfs.cpio.zst");
  writeFileSync(initrd, image.bytes);
}

const portFile = join(work, "status.out");
writeFileSync(portFile, "");
let shown = 0;
const r = await bootQemu({
  say: progress,
  qemu,
  kernel: kernel.vmlinuz,
  initrd,
  cmdline: applianceCmdline(),
  timeoutS: opt.timeout,
  ...(opt.mem ? { memMib: opt.mem } : {}),
  ...(opt.smp ? { smp: opt.smp } : {}),
  extraArgs: statusPortArgs(portFile, STATUS_PORT),
  onConsole: (text) => {
    if (!opt.quiet) process.stderr.write(text.slice(shown));
    shown = text.length;
  },
});
const fromPort = parseStatusLine(readFileSync(portFile, "utf8"));
const status = fromPort ?? parseStatusLine(r.text);
if (status === null) {
  say(`no status line from the VM (${bootFailure(r) ?? "QEMU exited without one"}; ${r.wallS.toFixed(1)} s)`);
  process.exit(NO_STATUS);
}
say(`status line from the ${fromPort ? `virtio-serial port ${STATUS_PORT}` : "console"} after ${r.wallS.toFixed(1)} s: exit ${status.exit}`);
process.stdout.write(`${statusLine(status)}\n`);
process.exit(status.exit);
