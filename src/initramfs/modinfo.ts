// Kernel module metadata without kmod: the .modinfo section of a .ko (plain, .gz or .zst), and a modules.dep built from it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PackageError } from "../errors.ts";
import { readElfSections } from "./elf.ts";

/** The module's .ko bytes, decompressed (.ko.gz, .ko.zst); .ko.xz cannot be read without an xz decoder. */
export function moduleBytes(path: string): Uint8Array {
  const raw = readModuleFile(path);
  if (path.endsWith(".ko")) return raw;
  // A damaged file was "Error: unknown compression method" (exit 70), naming no file.
  const unpack = (f: () => Uint8Array): Uint8Array => {
    try {
      return f();
    } catch (e) {
      throw new PackageError("modinfo", `${path}: cannot decompress (${(e as Error).message})`);
    }
  };
  if (path.endsWith(".ko.gz")) return unpack(() => new Uint8Array(Bun.gunzipSync(raw)));
  if (path.endsWith(".ko.zst")) return unpack(() => new Uint8Array(Bun.zstdDecompressSync(raw)));
  throw new PackageError("modinfo", `${path}: cannot read a module compressed this way (only .ko, .ko.gz, .ko.zst)`);
}

/** A module file's bytes; a file modules.dep names but the directory lacks is a PackageError naming it (it was a raw ENOENT, exit 70). */
export function readModuleFile(path: string): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new PackageError("modules", `cannot read kernel module ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** key=value pairs of the ELF section .modinfo (NUL-separated strings); a key may repeat (alias=, parm=). */
export function readModinfo(path: string): Map<string, string[]> {
  const sections = readElfSections(moduleBytes(path), path);
  if (sections === null) throw new PackageError("modinfo", `${path}: not an ELF file`);
  const modinfo = sections.find((s) => s.name === ".modinfo");
  if (modinfo === undefined) throw new PackageError("modinfo", `${path}: no .modinfo section`);
  const info = new Map<string, string[]>();
  for (const kv of new TextDecoder().decode(modinfo.bytes()).split("\0")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) continue;
    const k = kv.slice(0, eq);
    info.set(k, [...(info.get(k) ?? []), kv.slice(eq + 1)]);
  }
  return info;
}

/** Module name of a path: basename without .ko / .ko.xz / .ko.zst / .ko.gz, '-' read as '_'. */
export const moduleName = (path: string): string =>
  path.split("/").at(-1)!.replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");

/** Every module file under `dir` (relative paths, sorted), e.g. kernel/fs/ext4/ext4.ko. */
export function listModuleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.push(r);
    }
  };
  walk("");
  return out.sort();
}

/**
 * What depmod would write in modules.dep for the modules reachable from `names`: each module's path
 * and every module it needs (transitively, from `depends=` in .modinfo), ordered like depmod's so
 * that loading the list from its end to its start, then the module, respects every dependency.
 * For a Debian kernel package extracted with `dpkg -x` (depmod runs only at installation).
 */
export function dependenciesFromModinfo(dir: string, names: string[]): Map<string, string[]> {
  const byName = new Map<string, string>();
  for (const f of listModuleFiles(dir)) byName.set(moduleName(f), f);
  const direct = new Map<string, string[]>();
  const directOf = (file: string): string[] => {
    let d = direct.get(file);
    if (!d) {
      const dep = (readModinfo(join(dir, file)).get("depends") ?? []).join(",");
      d = dep.split(",").filter(Boolean).map((n) => {
        const f = byName.get(n.replace(/-/g, "_"));
        if (!f) throw new PackageError("modinfo", `${file} depends on ${n}, which is not under ${dir}`);
        return f;
      });
      direct.set(file, d);
    }
    return d;
  };
  const result = new Map<string, string[]>();
  const closure = (file: string, chain: string[]): string[] => {
    const known = result.get(file);
    if (known) return known;
    if (chain.includes(file)) throw new PackageError("modinfo", `dependency cycle: ${[...chain, file].join(" -> ")}`);
    // Post-order: dependencies before dependents; depmod's line is the reverse (first needed last).
    const order: string[] = [];
    for (const d of directOf(file)) for (const x of [...closure(d, [...chain, file])].reverse().concat(d)) if (!order.includes(x)) order.push(x);
    const line = order.reverse();
    result.set(file, line);
    return line;
  };
  for (const n of [...names].sort()) {
    const file = byName.get(n.replace(/-/g, "_"));
    if (!file) throw new PackageError("modules", `module ${n} is not under ${dir}`);
    closure(file, []);
  }
  return result;
}
