// Kernel modules for the initramfs: the named modules plus their modules.dep closure, and a modules.dep for just those.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { PackageError } from "../errors.ts";
import { dependenciesFromModinfo, moduleName } from "./modinfo.ts";

export { moduleName };

export interface ModuleSelection {
  /** Paths relative to the modules directory, dependencies before dependents. */
  files: string[];
  /** modules.dep restricted to `files` (same syntax as depmod's). */
  modulesDep: string;
}

/**
 * Reads `<dir>/modules.dep` and selects `names` with everything they depend on. Without a modules.dep
 * (a kernel package extracted with `dpkg -x`: depmod never ran) the dependencies come from each
 * module's .modinfo `depends=`. Unknown names are a PackageError.
 */
export function selectModules(dir: string, names: string[]): ModuleSelection {
  const depFile = join(dir, "modules.dep");
  if (!existsSync(dir)) throw new PackageError("modules.dep", `${dir} not found (is it a /lib/modules/<version> directory?)`);
  // A file given as the directory (or a modules.dep that is a directory) was a raw ENOTDIR / EISDIR, exit 70.
  if (!statSync(dir).isDirectory()) throw new PackageError("modules.dep", `${dir} is not a directory (is it a /lib/modules/<version> directory?)`);
  let deps = new Map<string, string[]>();
  if (existsSync(depFile)) {
    let text: string;
    try {
      text = readFileSync(depFile, "utf8");
    } catch (e) {
      throw new PackageError("modules.dep", `cannot read ${depFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const line of text.split("\n")) {
      const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
      if (!m) continue;
      deps.set(m[1]!, m[2]!.split(/\s+/).filter(Boolean));
    }
  } else {
    deps = dependenciesFromModinfo(dir, names);
  }
  const byName = new Map<string, string>();
  for (const f of deps.keys()) byName.set(moduleName(f), f);
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
