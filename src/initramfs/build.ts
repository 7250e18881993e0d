// Assembles the initramfs: /init, /sbin/vector-boot, its loader and libraries (from ELF headers), devices, config, modules.
import { existsSync, fsyncSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PackageError, UsageError } from "../errors.ts";
import { compress, COMPRESSIONS, type Compression } from "./compress.ts";
import { NEWC_MAX_FILE_SIZE, writeCpio, type CpioEntry } from "./cpio.ts";
import { elfDependencies, type ElfDependency } from "./elf-deps.ts";
import { readElf } from "./elf.ts";
import { readModuleFile } from "./modinfo.ts";
import { selectModules } from "./modules.ts";
import { InitramfsTree, normalizedMode } from "./tree.ts";
import { unreadableFile } from "../util/regular-file.ts";
import { throwIfInterrupted } from "../sys/interrupt.ts";
import { checkOutputPath, refuseOutputOverInput, writeFileAtomically } from "../util/atomic-write.ts";

/** Where things live inside the image (the pre-init execs EXE_PATH; the init reads CONFIG_PATH). */
export const INIT_PATH = "/init";
export const EXE_PATH = "/sbin/vector-boot";
export const CONFIG_PATH = "/etc/vector-boot/config.json";

/** Directories every image holds (mount points and the like), with their modes. */
export const BUILTIN_DIRS: ReadonlyArray<readonly [string, number | undefined]> = [
  ...["dev", "proc", "sys", "run", "etc", "sbin", "var", "var/lib", "mnt"].map((d) => [d, undefined] as const),
  ["root", 0o700],
  ["tmp", 0o1777],
  ["dev/shm", 0o1777],
];
/** Device nodes the kernel and the pre-init need before devtmpfs is mounted: path, major, minor, mode. */
export const BUILTIN_DEVICES: ReadonlyArray<readonly [string, number, number, number]> = [
  ["dev/console", 5, 1, 0o600],
  ["dev/null", 1, 3, 0o666],
  ["dev/kmsg", 1, 11, 0o644],
  ["dev/ttyS0", 4, 64, 0o600],
];

export interface InitramfsOptions {
  /** The static pre-init, installed as /init. */
  preinit: string;
  /** The vector-boot executable (with its model appended), installed as /sbin/vector-boot. */
  exe: string;
  /** Optional config file, installed as /etc/vector-boot/config.json. */
  config?: string;
  /** Shared objects loaded at run time (e.g. the shim Bun extracts and dlopens): their dependencies are added. */
  runtimeLibs?: string[];
  /** Kernel modules: `dir` is a lib/modules/<version> directory (modules.dep, else each .ko's .modinfo); `names` the modules wanted. */
  modules?: { dir: string; version: string; names: string[] };
  /** Extra host files: copied to `dest` in the image. */
  files?: { src: string; dest: string }[];
  compression?: Compression;
  /** mtime of every entry (default: SOURCE_DATE_EPOCH or 0). */
  mtime?: number;
  /** One line per stage. */
  progress?: (line: string) => void;
}

export interface InitramfsResult {
  bytes: Uint8Array;
  entries: CpioEntry[];
  dependencies: ElfDependency[];
  uncompressedSize: number;
  compression: Compression;
}

/** SOURCE_DATE_EPOCH (reproducible builds), else 0. A value that is no time the cpio can hold is refused naming it (it was taken as 0, or failed as "cpio.mtime"). */
function sourceDateEpoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return 0;
  if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`SOURCE_DATE_EPOCH=${JSON.stringify(v)}: must be whole seconds since 1970, 0..4294967295 (the cpio header's mtime)`);
  return Number(v);
}

function requireFile(path: string, what: string): void {
  const problem = unreadableFile(path);
  // The hint is for the source tree's defaults (dist/...): a --file or --config the user mistyped was told to run the build.
  const built = /(^|\/)dist\//.test(path) && !existsSync(path);
  if (problem !== null) throw new PackageError(`initramfs.${what}`, `cannot read ${path}: ${problem}${built ? " (run scripts/build.ts first?)" : ""}`);
}

/**
 * A host file for the image, read whole only once its size fits newc's filesize field: a --file over
 * 4 GiB was read into memory first and failed as a raw ENOMEM (exit 70, "internal error").
 */
function readForImage(path: string, what: string): Uint8Array {
  const size = statSync(path).size;
  if (size > NEWC_MAX_FILE_SIZE) throw new PackageError(`initramfs.${what}`, `${path} is ${size} bytes: a cpio newc entry holds at most ${NEWC_MAX_FILE_SIZE} bytes (4 GiB - 1)`);
  return new Uint8Array(readFileSync(path));
}

export function buildInitramfs(opts: InitramfsOptions): InitramfsResult {
  const progress = opts.progress ?? (() => {});
  const compression = opts.compression ?? COMPRESSIONS[0];
  requireFile(opts.preinit, "preinit");
  requireFile(opts.exe, "exe");
  const tree = new InitramfsTree();

  // 1. Shared libraries, from the ELF headers of the executable and of run-time loaded objects.
  const t0 = performance.now();
  const preinitElf = readElf(opts.preinit);
  if (preinitElf?.interp) progress(`initramfs: warning: ${opts.preinit} is dynamically linked (${preinitElf.interp}); /init should be static`);
  const deps: ElfDependency[] = [];
  for (const lib of opts.runtimeLibs ?? []) requireFile(lib, "runtime-lib");
  for (const obj of [opts.preinit, opts.exe, ...(opts.runtimeLibs ?? [])]) {
    if (!readElf(obj)) throw new PackageError("initramfs.elf", `${obj} is not an ELF file`);
    for (const d of elfDependencies(obj)) if (!deps.some((x) => x.path === d.path)) deps.push(d);
  }
  for (const d of [...deps].sort((a, b) => (a.path < b.path ? -1 : 1))) tree.hostPath(d.path);
  progress(`initramfs: ELF dependencies: ${deps.map((d) => d.path).join(" ") || "none"} (${(performance.now() - t0).toFixed(0)} ms)`);

  throwIfInterrupted();
  // 2. Directories, mount points and the device nodes the kernel and the pre-init need before devtmpfs.
  for (const [d, mode] of BUILTIN_DIRS) tree.dir(d, mode);
  for (const [d, major, minor, mode] of BUILTIN_DEVICES) tree.chardev(d, major, minor, mode);

  // 3. The programs and the config.
  tree.file(INIT_PATH, readForImage(opts.preinit, "preinit"), 0o755);
  tree.file(EXE_PATH, readForImage(opts.exe, "exe"), 0o755);
  if (opts.config) {
    requireFile(opts.config, "config");
    tree.file(CONFIG_PATH, readForImage(opts.config, "config"), 0o644);
  }
  for (const f of opts.files ?? []) {
    requireFile(f.src, "files");
    const data = readForImage(f.src, "files");
    try {
      tree.file(f.dest, data, normalizedMode(statSync(f.src).mode));
    } catch (e) {
      // A path the loader and its libraries took (known only now: /lib64/ld-linux-x86-64.so.2 is a
      // symlink on this host) was exit 65 naming neither --file nor the argument, as other clashes are 64.
      if (!(e instanceof PackageError && e.field === "initramfs.path")) throw e;
      throw new UsageError(`initramfs: --file ${JSON.stringify(`${f.src}:${f.dest}`)}: the destination ${JSON.stringify(f.dest)} collides with what the image already holds (${e.message}): choose another path`);
    }
  }
  progress(`initramfs: programs: ${INIT_PATH} (${statSync(opts.preinit).size} bytes), ${EXE_PATH} (${statSync(opts.exe).size} bytes)${opts.config ? `, ${CONFIG_PATH}` : ""}`);

  throwIfInterrupted();
  // 4. Kernel modules with a modules.dep covering exactly the ones included.
  if (opts.modules && opts.modules.names.length > 0) {
    const sel = selectModules(opts.modules.dir, opts.modules.names);
    const base = `lib/modules/${opts.modules.version}`;
    for (const f of sel.files) tree.file(`${base}/${f}`, readModuleFile(join(opts.modules.dir, f)));
    tree.file(`${base}/modules.dep`, new TextEncoder().encode(sel.modulesDep));
    // So the init can tell a built-in name from a missing one.
    const builtin = join(opts.modules.dir, "modules.builtin");
    if (existsSync(builtin)) tree.file(`${base}/modules.builtin`, new Uint8Array(readFileSync(builtin)));
    progress(`initramfs: kernel modules (${opts.modules.version}): ${sel.files.length} files: ${sel.files.map((f) => f.split("/").at(-1)).join(" ")}`);
  }

  throwIfInterrupted();
  // 5. Archive and compress.
  const entries = tree.list();
  const t1 = performance.now();
  const cpio = writeCpio(entries, { mtime: opts.mtime ?? sourceDateEpoch() });
  progress(`initramfs: cpio newc: ${entries.length} entries, ${cpio.length} bytes (${(performance.now() - t1).toFixed(0)} ms)`);
  const t2 = performance.now();
  const bytes = compress(cpio, compression);
  throwIfInterrupted();
  if (compression !== "none") progress(`initramfs: ${compression}: ${bytes.length} bytes (${(performance.now() - t2).toFixed(0)} ms)`);
  return { bytes, entries, dependencies: deps, uncompressedSize: cpio.length, compression };
}

/** Builds and writes the image atomically (temp file, fsync, rename). */
export function writeInitramfs(out: string, opts: InitramfsOptions): InitramfsResult {
  checkOutputPath(out);
  refuseOutputOverInput(out, [
    { path: opts.exe, what: "the executable to install" },
    { path: opts.preinit, what: "the pre-init to install" },
    ...(opts.config ? [{ path: opts.config, what: "the config to install" }] : []),
    ...(opts.runtimeLibs ?? []).map((path) => ({ path, what: "a run-time library to install" })),
    ...(opts.files ?? []).map((f) => ({ path: f.src, what: `the file to install as ${f.dest}` })),
  ]);
  const r = buildInitramfs(opts);
  writeFileAtomically(out, (fd) => {
    for (let w = 0; w < r.bytes.length; ) w += writeSync(fd, r.bytes, w, r.bytes.length - w);
    fsyncSync(fd);
    throwIfInterrupted(); // the last look before the rename
  });
  opts.progress?.(`initramfs: wrote ${out}: ${r.bytes.length} bytes (${(r.bytes.length / 1048576).toFixed(1)} MiB)`);
  return r;
}
