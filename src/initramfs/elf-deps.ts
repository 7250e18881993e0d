// Walks an executable's shared-library dependencies from its ELF headers (PT_INTERP, DT_NEEDED, recursively), like ld.so would.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { PackageError } from "../errors.ts";
import { readElf, type ElfInfo } from "./elf.ts";

/** Directories ld.so searches after RPATH/RUNPATH and ld.so.cache: Debian multiarch first, then the generic ones. */
export const DEFAULT_LIB_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/** Directories listed in ld.so.conf and the files it includes (glob patterns in `include` lines, `#` comments). */
export function ldSoConfDirs(conf = "/etc/ld.so.conf", seen = new Set<string>()): string[] {
  if (seen.has(conf) || !existsSync(conf)) return [];
  seen.add(conf);
  const dirs: string[] = [];
  for (const raw of readFileSync(conf, "utf8").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc) {
      for (const pattern of inc[1]!.split(/\s+/)) {
        const abs = isAbsolute(pattern) ? pattern : join(dirname(conf), pattern);
        const matches = [...new Bun.Glob(abs.slice(1)).scanSync({ cwd: "/", absolute: true })].sort();
        for (const f of matches) dirs.push(...ldSoConfDirs(f, seen));
      }
    } else if (line.startsWith("/")) dirs.push(line);
  }
  return dirs;
}

export interface ElfDependency {
  /** The name asked for (DT_NEEDED entry or the PT_INTERP path). */
  name: string;
  /** Where it was found on this machine (the path ld.so would open; may be a symlink). */
  path: string;
  /** Who asked for it. */
  neededBy: string;
  kind: "interpreter" | "library";
}

export interface DependencyOptions {
  /** Library directories searched after RPATH/RUNPATH; default: ld.so.conf's then DEFAULT_LIB_DIRS. */
  libDirs?: string[];
  /** Root prefix to find files under (for a sysroot); default "/". */
  sysroot?: string;
}

function expandOrigin(dir: string, object: string): string {
  return dir.replace(/\$\{?ORIGIN\}?/g, dirname(object));
}

function compatible(a: ElfInfo, b: ElfInfo): boolean {
  return a.bits === b.bits && a.machine === b.machine && a.littleEndian === b.littleEndian;
}

/**
 * Every shared object `exe` needs at run time, found by reading ELF headers: its interpreter and the
 * DT_NEEDED closure, each resolved like ld.so does (RPATH unless RUNPATH, RUNPATH, system directories),
 * skipping candidates of another class or machine. A missing library is a PackageError naming it.
 */
export function elfDependencies(exe: string, opts: DependencyOptions = {}): ElfDependency[] {
  const sysroot = opts.sysroot ?? "/";
  const host = (p: string): string => (sysroot === "/" ? p : join(sysroot, p));
  const root = readElf(exe);
  if (!root) throw new PackageError("elf", `${exe} is not an ELF file`);
  const libDirs = opts.libDirs ?? [...new Set([...ldSoConfDirs(host("/etc/ld.so.conf")), ...DEFAULT_LIB_DIRS])];
  const out: ElfDependency[] = [];
  const seenNames = new Map<string, string>();
  if (root.interp) {
    if (!existsSync(host(root.interp))) throw new PackageError("elf.interp", `${exe}: interpreter ${root.interp} not found`);
    out.push({ name: root.interp, path: root.interp, neededBy: exe, kind: "interpreter" });
  }
  const queue: { info: ElfInfo; rpathChain: string[] }[] = [{ info: root, rpathChain: [] }];
  while (queue.length > 0) {
    const { info, rpathChain } = queue.shift()!;
    const own = info.runpath.length === 0 ? info.rpath.map((d) => expandOrigin(d, info.path)) : [];
    const rpaths = [...own, ...(info.runpath.length === 0 ? rpathChain : [])];
    const runpaths = info.runpath.map((d) => expandOrigin(d, info.path));
    for (const name of info.needed) {
      if (seenNames.has(name)) continue;
      let found: { path: string; elf: ElfInfo } | null = null;
      const candidates = name.includes("/") ? [resolve(dirname(info.path), name)] : [...rpaths, ...runpaths, ...libDirs].map((d) => join(d, name));
      for (const c of candidates) {
        try {
          if (!statSync(host(c)).isFile()) continue;
        } catch {
          continue;
        }
        const elf = readElf(host(c));
        if (elf && compatible(elf, root)) {
          found = { path: c, elf };
          break;
        }
      }
      if (!found) throw new PackageError("elf.needed", `${info.path} needs ${name}, not found in ${[...rpaths, ...runpaths, ...libDirs].join(":")}`);
      seenNames.set(name, found.path);
      out.push({ name, path: found.path, neededBy: info.path, kind: "library" });
      queue.push({ info: { ...found.elf, path: found.path }, rpathChain: [...rpathChain, ...own] });
    }
  }
  return out;
}
