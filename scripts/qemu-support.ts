// Shared by the QEMU scripts: host tools (qemu, a Debian kernel, mkfs.ext4), the executable, one bounded boot (its console is read by qemu-console.ts).
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { appendModel, locateEmbeddedModel } from "../src/rts/embed.ts";

export const root = resolve(import.meta.dir, "..");
export const cache = join(root, ".cache");
export const qemuDir = join(cache, "qemu");

export type Say = (line: string) => void;
export const sayer = (prefix: string): Say => (line) => process.stderr.write(`${prefix}: ${line}\n`);

/** The initramfs inputs every QEMU image shares: the pre-init as /init, the executable, its config, the shim. */
export function imageBase(exe: string, config: string | undefined, say: Say) {
  const shim = join(root, "dist/native/libvbshim.so");
  return { preinit: join(root, "dist/native/preinit"), exe, config, runtimeLibs: existsSync(shim) ? [shim] : [], progress: say };
}

let failureStatus = 1;
/** The status `die` exits with (default 1; scripts/vm-run.ts, whose own status is the guest's, takes 125). */
export const setFailureStatus = (status: number): void => void (failureStatus = status);

/** Reports and exits (1 unless `setFailureStatus`): the scripts' only way to fail a step outside the console checks. */
export function die(say: Say, message: string): never {
  say(message);
  process.exit(failureStatus);
}

export function sh(say: Say, argv: string[], what: string, cwd = root): string {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000 });
  if (r.exitCode !== 0) die(say, `${what} failed (exit ${r.exitCode}): ${argv.join(" ")}\n${r.stdout}${r.stderr}`);
  return r.stdout.toString();
}

let aptUpdated = false;
function aptUpdate(say: Say): void {
  if (aptUpdated) return;
  say("apt-get update");
  sh(say, ["apt-get", "update", "-qq"], "apt-get update");
  aptUpdated = true;
}

/** `tool` on PATH (or in /sbin, /usr/sbin), installing Debian package `pkg` when missing. */
export function ensureTool(say: Say, tool: string, pkg: string): string {
  const find = () => Bun.which(tool) ?? Bun.which(tool, { PATH: "/usr/sbin:/sbin" });
  const have = find();
  if (have) return have;
  aptUpdate(say);
  say(`installing ${pkg}`);
  sh(say, ["apt-get", "install", "-y", "--no-install-recommends", pkg], `apt-get install ${pkg}`);
  return find() ?? die(say, `${tool} still missing after apt-get install ${pkg}`);
}

/** qemu-system-x86_64 from Debian's packages when missing. */
export const ensureQemu = (say: Say): string => ensureTool(say, "qemu-system-x86_64", "qemu-system-x86");

export interface Kernel {
  vmlinuz: string;
  /** `uname -r` of that kernel. */
  version: string;
  /** Its lib/modules/<version> directory (as extracted: no modules.dep, depmod never ran). */
  modulesDir: string;
}

/** The host's installed Debian kernel (linux-image-amd64: a readable /boot/vmlinuz-*-amd64 with its /lib/modules directory), newest first. */
function installedKernel(): Kernel | null {
  const names = existsSync("/boot") ? readdirSync("/boot").filter((f) => /^vmlinuz-.+-amd64$/.test(f)).sort().reverse() : [];
  for (const f of names) {
    const version = f.slice("vmlinuz-".length);
    const modulesDir = join("/lib/modules", version);
    try {
      accessSync(join("/boot", f), constants.R_OK);
    } catch {
      continue;
    }
    if (existsSync(join(modulesDir, "modules.builtin"))) return { vmlinuz: join("/boot", f), version, modulesDir };
  }
  return null;
}

/**
 * A Debian kernel: the host's installed one when there is one (linux-image-amd64), else the one that
 * package points to, downloaded and extracted into .cache/kernel.
 */
export function ensureKernel(say: Say): Kernel {
  const installed = installedKernel();
  if (installed) {
    say(`kernel ${installed.version}: installed (${installed.vmlinuz}, ${installed.modulesDir})`);
    return installed;
  }
  const dir = join(cache, "kernel");
  const boot = join(dir, "root", "boot");
  const find = () => (existsSync(boot) ? readdirSync(boot).filter((f) => f.startsWith("vmlinuz-")).sort() : []);
  if (find().length === 0) {
    mkdirSync(dir, { recursive: true });
    const depOf = () => /Depends: (linux-image-\S+)/.exec(Bun.spawnSync(["apt-cache", "depends", "linux-image-amd64"], { stdout: "pipe" }).stdout.toString())?.[1];
    let pkg = depOf();
    if (!pkg) {
      aptUpdate(say);
      pkg = depOf();
    }
    if (!pkg) die(say, "cannot find a linux-image-*-amd64 package (apt-cache depends linux-image-amd64)");
    say(`downloading ${pkg}`);
    sh(say, ["apt-get", "download", pkg], "apt-get download", dir);
    const deb = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
    if (!deb) die(say, `apt-get download left no ${pkg}_*.deb in ${dir}`);
    sh(say, ["dpkg", "-x", join(dir, deb), join(dir, "root")], "dpkg -x");
  }
  const k = find().at(-1) ?? die(say, `no vmlinuz-* in ${boot}`);
  const version = k.slice("vmlinuz-".length);
  return { vmlinuz: join(boot, k), version, modulesDir: join(dir, "root", "lib", "modules", version) };
}

/**
 * Splits module names into the ones the kernel has built in (modules.builtin) and the ones to ship
 * as files; a name that is neither is fatal (the kernel could not mount what the test needs).
 */
export function splitBuiltin(say: Say, kernel: Kernel, names: string[]): { modules: string[]; builtin: string[] } {
  const norm = (n: string) => n.replace(/-/g, "_");
  const nameOf = (p: string) => norm(p.split("/").at(-1)!.replace(/\.ko(\.(xz|zst|gz))?$/, ""));
  const builtinFile = join(kernel.modulesDir, "modules.builtin");
  const builtinSet = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, "utf8").split("\n").filter(Boolean).map(nameOf) : []);
  const modules: string[] = [];
  const builtin: string[] = [];
  for (const n of names) (builtinSet.has(norm(n)) ? builtin : modules).push(n);
  return { modules, builtin };
}

/** dist/vector-boot with its model (incremental build first); a fixture model is appended when none is embedded yet. */
export async function prepareExecutable(say: Say, model?: string): Promise<string> {
  const exe = join(root, "dist/vector-boot");
  // Incremental: rebuilds only what is older than its sources, so the image never boots a stale executable.
  say("scripts/build.ts");
  sh(say, [process.execPath, join(root, "scripts/build.ts")], "scripts/build.ts");
  if (!model && locateEmbeddedModel(exe)) return exe;
  const m = model ?? resolve(root, "../shared/fixtures/gguf/ref-s1-a4096.gguf");
  const out = join(qemuDir, "vector-boot");
  const bare = existsSync(join(root, "dist/vector-boot.bare")) ? join(root, "dist/vector-boot.bare") : exe;
  say(`${model ? "using" : "dist/vector-boot has no embedded model yet; using"} ${m}, appended to ${bare}`);
  mkdirSync(qemuDir, { recursive: true });
  await appendModel(bare, m, out);
  return out;
}

/**
 * QEMU arguments for the virtio-serial port the init writes its status line to (src/boot/exit-status.ts),
 * backed by the host file `path`. The guest needs the virtio_pci and virtio_console modules (STATUS_PORT_MODULES).
 */
export const statusPortArgs = (path: string, name: string): string[] => ["-chardev", `file,id=vbstatus,path=${path}`, "-device", "virtio-serial-pci", "-device", `virtserialport,chardev=vbstatus,name=${name}`];
export const STATUS_PORT_MODULES = ["virtio_pci", "virtio_console"];

export const PANIC = /Kernel panic|end Kernel panic|Attempted to kill init/;

export interface BootResult {
  /** The console without escape sequences and carriage returns. */
  text: string;
  exitCode: number | null;
  killedFor: string | null;
  wallS: number;
}

/** Guest memory (`-m`, MiB) and CPUs (`-smp`) of a boot unless the caller says otherwise. */
export const QEMU_MEM_MIB = 1024;
export const QEMU_SMP = 1;
/**
 * The kernel command line every appliance boot starts with: the console on the first serial port; a
 * panic ends QEMU (with -no-reboot); the kernel's messages only with `verbose`; and no crypto
 * self-tests at boot (`cryptomgr.notests`: the kernel's crypto code is the same, only its boot-time
 * known-answer tests are skipped). Under TCG those tests were 0.41 s of one initcall
 * (crypto_algapi_init) on the one CPU before /init (docs/initramfs-and-qemu-boot.md).
 */
export function applianceCmdline(verbose = false): string[] {
  return ["console=ttyS0", "panic=-1", ...(verbose ? [] : ["quiet"]), "cryptomgr.notests"];
}

/** The emulated CPU: Bun needs SSE4.2/AVX2-class instructions, which the default qemu64 model lacks (it traps). */
export const QEMU_CPU = "max";

/**
 * One boot, bounded: `-nographic -serial stdio -no-reboot -m MEM -smp N -accel tcg -cpu max` (Bun needs
 * SSE4.2/AVX2-class instructions: the default qemu64 CPU traps), optional raw virtio disks. QEMU is
 * killed at `timeoutS` and half a second after a kernel panic shows on the console.
 */
export async function bootQemu(opts: {
  say: Say; qemu: string; kernel: string; initrd: string; cmdline: string[]; timeoutS: number; disks?: string[]; memMib?: number; smp?: number;
  /** `-cpu` (default QEMU_CPU), `-accel` (default "tcg"; e.g. "tcg,thread=multi") and `-machine` (QEMU's default when omitted). */
  cpu?: string;
  accel?: string;
  machine?: string;
  /** QEMU `cache=` of every disk (QEMU's default when omitted). */
  diskCache?: string;
  /** More QEMU arguments (devices, chardevs: e.g. `statusPortArgs`). */
  extraArgs?: string[];
  /** Called with the console so far after each chunk; `kill` SIGKILLs QEMU (the reason lands in `killedFor`). */
  onConsole?: (text: string, kill: (why: string) => void) => void;
}): Promise<BootResult> {
  const drives = (opts.disks ?? []).flatMap((d) => ["-drive", `file=${d},format=raw,if=virtio${opts.diskCache ? `,cache=${opts.diskCache}` : ""}`]);
  const machine = [...(opts.machine ? ["-machine", opts.machine] : []), "-m", String(opts.memMib ?? QEMU_MEM_MIB), "-smp", String(opts.smp ?? QEMU_SMP)];
  const argv = [opts.qemu, "-nographic", "-serial", "stdio", "-monitor", "none", "-no-reboot", ...machine, "-accel", opts.accel ?? "tcg", "-cpu", opts.cpu ?? QEMU_CPU, "-kernel", opts.kernel, "-initrd", opts.initrd, ...drives, ...(opts.extraArgs ?? []), "-append", opts.cmdline.join(" ")];
  opts.say(`booting: ${argv.join(" ")}`);
  const started = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let log = "";
  let killedFor: string | null = null;
  const kill = (why: string) => {
    if (killedFor === null) killedFor = why;
    proc.kill("SIGKILL");
  };
  const timer = setTimeout(() => kill(`time limit of ${opts.timeoutS} s reached`), opts.timeoutS * 1000);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      log += dec.decode(chunk, { stream: true });
      // A panicked kernel with panic=-1 reboots and -no-reboot ends QEMU with 0: catch it here.
      if (PANIC.test(log)) setTimeout(() => kill("kernel panic"), 500);
      opts.onConsole?.(log, kill);
    }
  };
  await Promise.all([pump(proc.stdout), pump(proc.stderr), proc.exited]);
  clearTimeout(timer);
  const text = log.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, "").replace(/\r/g, "");
  return { text, exitCode: proc.exitCode, killedFor, wallS: (performance.now() - started) / 1000 };
}
