// Kernel modules for the initramfs: the named modules plus their modules.dep closure, and a modules.dep for just those.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { PackageError } from "../errors.ts";

/** Module name of a path in modules.dep: basename without .ko / .ko.xz / .ko.zst / .ko.gz, '-' read as '_'. */
export const moduleName = (path: string): string => basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");

export interface ModuleSelection {
  /** Paths relative to the modules directory, dependencies before dependents. */
  files: string[];
  /** modules.dep restricted to `files` (same syntax as depmod's). */
  modulesDep: string;
}

/** Reads `<dir>/modules.dep` and selects `names` with everything they depend on. Unknown names are a PackageError. */
export function selectModules(dir: string, names: string[]): ModuleSelection {
  const depFile = join(dir, "modules.dep");
  if (!existsSync(depFile)) throw new PackageError("modules.dep", `${depFile} not found (is ${dir} a /lib/modules/<version> directory?)`);
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of readFileSync(depFile, "utf8").split("\n")) {
    const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    deps.set(m[1]!, m[2]!.split(/\s+/).filter(Boolean));
    byName.set(moduleName(m[1]!), m[1]!);
  }
  const files: string[] = [];
  const done = new Set<string>();
  const visit = (file: string, chain: string[]): void => {
    if (done.has(file)) return;
    if (chain.includes(file)) throw new PackageError("modules.dep", `dependency cycle: ${[...chain, file].join(" -> ")}`);
    for (const d of deps.get(file) ?? []) visit(d, [...chain, file]);
    done.add(file);
    files.push(file);
  };
  for (const n of [...names].sort()) {
    const file = byName.get(n.replace(/-/g, "_"));
    if (!file) throw new PackageError("modules", `module ${n} is not in ${depFile}`);
    visit(file, []);
  }
  const modulesDep = [...files].sort().map((f) => `${f}:${(deps.get(f) ?? []).map((d) => ` ${d}`).join("")}\n`).join("");
  return { files, modulesDep };
}
