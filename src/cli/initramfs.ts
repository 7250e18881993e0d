// `vector-boot initramfs` (and scripts/build-initramfs.ts): builds the reproducible, compressed cpio image to boot.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import embeddedPreinit from "../../dist/native/preinit" with { type: "file" };
import { z } from "zod";
import { readConfigFile } from "../config/load.ts";
import { type ConfigError, GgufError, PackageError, SysError, UsageError } from "../errors.ts";
import { readGguf } from "../gguf/reader.ts";
import { setLogLevel } from "../log.ts";
import { locateEmbeddedModel } from "../rts/embed.ts";
import { openModelSource } from "../rts/model-source.ts";
import { unreadableFile } from "../util/regular-file.ts";
import { interruptible } from "../sys/interrupt.ts";
import { CONFIG_PATH, EXE_PATH, INIT_PATH, writeInitramfs } from "../initramfs/build.ts";
import { COMPRESSION_SUFFIX, COMPRESSIONS } from "../initramfs/compress.ts";
import { extraFiles } from "./initramfs-files.ts";
import { escapedName } from "../util/terminal-text.ts";
import { nonEmpty, out, parseCommandArgs } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot initramfs [-o OUT] [--exe FILE] [--preinit FILE] [--config FILE]
                             [--modules-dir DIR --module NAME...] [--compress zstd|xz|gzip|none]

Writes a cpio "newc" initramfs (no external cpio) holding ${INIT_PATH} (the static pre-init),
${EXE_PATH} (the executable with its model), the ELF interpreter and every shared library they
need (read from PT_INTERP and DT_NEEDED, recursively, searched like ld.so does), the mount points
and device nodes the kernel expects, ${CONFIG_PATH} and kernel modules when given.
Reproducible: sorted entries, root owner, mtime SOURCE_DATE_EPOCH (or 0), fixed gzip header.

Options:
  -o, --output OUT       image to write (default initramfs.cpio.zst; .xz, .gz by compression;
                         dist/initramfs.cpio.zst from the source tree)
  --exe FILE             executable to install (default this executable; dist/vector-boot from
                         the source tree)
  --preinit FILE         static pre-init installed as /init (default the one built into this
                         executable; dist/native/preinit from the source tree)
  --config FILE          config file installed as ${CONFIG_PATH} (checked first as PID 1 will read it)
  --runtime-lib FILE     a shared object loaded at run time whose dependencies are needed too
                         (repeatable; default dist/native/libvbshim.so when it exists)
  --modules-dir DIR      a lib/modules/<version> directory (modules.dep, or each module's .modinfo when it has none)
  --kernel-version VER   version directory name in the image (default: basename of --modules-dir)
  --module NAME          kernel module to include with its dependencies (repeatable)
  --file SRC:DEST        extra host file copied to DEST (an absolute path) in the image (repeatable);
                         DEST must be a new file: not /init, /sbin/vector-boot, /etc, /dev/... nor another --file's
  --compress ALG         zstd (default; Debian kernels have CONFIG_RD_ZSTD: the fastest compressed image
                         to boot), xz (17 % smaller than zstd, but ~80 s to build and about 5x zstd's
                         unpack time at boot; needs the xz program and CONFIG_RD_XZ), gzip (any kernel)
                         or none
  --list                 print every entry of the image, one per line (a backslash or control
                         character in a name escaped: \\\\, \\n, \\t, \\r, \\xNN)
  -h, --help             this text`;

const schema = z.object({
  output: nonEmpty.optional(),
  exe: nonEmpty.optional(),
  preinit: nonEmpty.optional(),
  config: nonEmpty.optional(),
  "runtime-lib": z.array(nonEmpty).optional(),
  "modules-dir": nonEmpty.optional(),
  "kernel-version": nonEmpty.optional(),
  module: z.array(nonEmpty).optional(),
  file: z.array(z.string().regex(/^[^:]+:\/[^:]+$/, "expected SRC:/ABSOLUTE/DEST")).optional(),
  compress: z.enum(COMPRESSIONS).optional(),
  list: z.boolean().optional(),
  positionals: z.array(z.string()).max(0, "initramfs takes no positional arguments"),
});

/** Runs the command with defaults resolved against `root` (the project root for the build script, else the cwd). */
export async function runInitramfs(args: string[], root = process.cwd()): Promise<number> {
  if (wantsHelp(args)) {
    out(help);
    return 0;
  }
  const a = parseCommandArgs("initramfs", args, {
    output: { type: "string", short: "o" },
    exe: { type: "string" },
    preinit: { type: "string" },
    config: { type: "string" },
    "runtime-lib": { type: "string", multiple: true },
    "modules-dir": { type: "string" },
    "kernel-version": { type: "string" },
    module: { type: "string", multiple: true },
    file: { type: "string", multiple: true },
    compress: { type: "string" },
    list: { type: "boolean" },
  }, schema);
  if (a.module?.length && !a["modules-dir"]) throw new UsageError("initramfs: --module needs --modules-dir");
  const files = extraFiles(a.file ?? [], a.config !== undefined);
  // The config the image's PID 1 will read, checked as it will check it: a typo went into the image,
  // and PID 1 refused the whole file at boot and came up with the defaults (no services).
  let configModel: string | undefined;
  if (a.config !== undefined) {
    const ids: ConfigError[] = [];
    configModel = readConfigFile(a.config, ids).model;
    for (const w of ids) process.stderr.write(`initramfs: warning: ${w.message} (checked against this host's /etc/passwd)\n`);
  }
  const shim = resolve(root, "dist/native/libvbshim.so");
  const compress = a.compress ?? COMPRESSIONS[0];
  // The shipped executable needs no source tree: it installs itself and the pre-init built into it
  // (Bun's embedded files can be read whole, not opened: the pre-init goes to a temporary file).
  const compiled = embeddedPreinit.startsWith("/$bunfs/");
  const exe = a.exe ?? (compiled ? process.execPath : resolve(root, "dist/vector-boot"));
  setLogLevel("warn"); // the model check maps the model: its "model mapped" info line is noise in a build's output
  checkExecutableModel(exe, configModel);
  const output = a.output ?? resolve(root, `${compiled ? "" : "dist/"}initramfs.cpio${COMPRESSION_SUFFIX[compress]}`);
  let scratch: string | null = null;
  if (compiled && a.preinit === undefined) scratch = scratchDir(output);
  const preinit = a.preinit ?? (scratch ? join(scratch, "preinit") : embeddedPreinit);
  if (scratch) writeFileSync(preinit, readFileSync(embeddedPreinit), { mode: 0o755 });
  const t0 = performance.now();
  // Ctrl-C stops the build between stages, or the write, and leaves no temporary image (nor the scratch directory).
  const r = interruptible(() => {
    try {
      return writeInitramfs(output, {
        exe,
        preinit,
        config: a.config,
        runtimeLibs: a["runtime-lib"] ?? (!compiled && existsSync(shim) ? [shim] : []),
        modules: a["modules-dir"] ? { dir: a["modules-dir"], version: a["kernel-version"] ?? basename(resolve(a["modules-dir"])), names: a.module ?? [] } : undefined,
        files,
        compression: compress,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }
  });
  // Escaped: a name holding a newline (`--file SRC:$'/etc/a\nb'`) printed as two lines, the second no entry at all.
  if (a.list) for (const e of [...r.entries].sort((x, y) => (x.path < y.path ? -1 : 1))) out(`${e.type.padEnd(7)} /${escapedName(e.path)}${e.type === "symlink" ? ` -> ${escapedName(e.target)}` : ""}`);
  out(`${output}: ${r.bytes.length} bytes (${(r.bytes.length / 1048576).toFixed(1)} MiB, ${r.compression}; ${r.uncompressedSize} bytes unpacked, ${r.entries.length} entries) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

/**
 * The model the image's PID 1 will map from its own executable, checked as \`verify\` checks it (trailer,
 * SHA-256, GGUF): an executable whose model was damaged (a trailer overwritten, a model appended twice,
 * a payload cut short) made an image that built fine and could not boot. One without a model is only
 * warned about: a config \`model\` (or \`vector.model=\`) may name a file added with --file.
 */
function checkExecutableModel(exe: string, configModel: string | undefined): void {
  if (unreadableFile(exe) !== null) return; // named by the build (initramfs.exe)
  const damaged = (cause: unknown): never => {
    throw new PackageError("initramfs.exe", `${exe} carries a damaged embedded model: the image's PID 1 could not boot it (\`vector-boot verify ${exe}\`)`, { cause });
  };
  try {
    if (locateEmbeddedModel(exe) === null) {
      if (configModel === undefined) process.stderr.write(`initramfs: warning: ${exe} carries no embedded model: the image boots only with "model" in its config (or vector.model=) naming a file in the image\n`);
      return;
    }
    const src = openModelSource({ exePath: exe, fallbackPath: null, verify: true });
    try {
      readGguf(src.bytes);
    } finally {
      src.unmap();
    }
  } catch (e) {
    if (e instanceof PackageError || e instanceof GgufError) damaged(e);
    throw e;
  }
}

export const command: Command = {
  name: "initramfs",
  summary: "build a reproducible initramfs (cpio newc) that boots into vector-boot",
  help,
  run: (args) => runInitramfs(args),
};

/**
 * A directory for the pre-init while the image is built: in TMPDIR, else beside the output (which is
 * written there anyway): a TMPDIR that is missing or read-only (a read-only root) failed the build.
 * Neither usable: a SysError naming both (it was a raw mkdtemp ENOENT, exit 70).
 */
function scratchDir(output: string): string {
  const places = [tmpdir(), dirname(resolve(output))];
  let last: NodeJS.ErrnoException | null = null;
  for (const dir of places) {
    try {
      return mkdtempSync(join(dir, ".vector-boot-initramfs-"));
    } catch (e) {
      last = e as NodeJS.ErrnoException;
    }
  }
  throw new SysError("mkdtemp", last?.code ?? "EIO", Math.abs(Number(last?.errno) || 5), `${places.join(" and ")} (TMPDIR, then the output's directory: the pre-init is written there while the image is built)`, { cause: last });
}
