// Loads the configured kernel modules and their dependencies (modules.dep) before the state disk is mounted.
import { existsSync, readFileSync } from "node:fs";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { loadModuleFile } from "../sys/machine.ts";

const log = logger("modules");

/** Module names compare with '-' and '_' as the same character. */
const norm = (n: string) => n.replace(/-/g, "_");
const nameOf = (path: string) => norm(path.split("/").at(-1)!.replace(/\.ko(\.(xz|zst|gz))?$/, ""));

export interface ModuleIndex {
  dir: string;
  /** module name -> [its path, ...its dependencies' paths] (relative to dir), as in modules.dep. */
  deps: Map<string, string[]>;
  builtin: Set<string>;
}

export function readModuleIndex(dir: string): ModuleIndex {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(`${dir}/modules.dep`, "utf8").split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    deps.set(nameOf(path), [path, ...line.slice(colon + 1).trim().split(/\s+/).filter(Boolean)]);
  }
  const builtin = new Set<string>();
  if (existsSync(`${dir}/modules.builtin`)) for (const l of readFileSync(`${dir}/modules.builtin`, "utf8").split("\n")) if (l.trim()) builtin.add(nameOf(l.trim()));
  return { dir, deps, builtin };
}

/** Paths to load for `names`, dependencies first, each once. Unknown names are reported, not thrown. */
export function loadOrder(index: ModuleIndex, names: string[]): { paths: string[]; builtin: string[]; unknown: string[] } {
  const paths: string[] = [];
  const seen = new Set<string>();
  const builtin: string[] = [];
  const unknown: string[] = [];
  for (const raw of names) {
    const n = norm(raw);
    const entry = index.deps.get(n);
    if (!entry) {
      (index.builtin.has(n) ? builtin : unknown).push(raw);
      continue;
    }
    // modules.dep lists a module's dependencies so that the last one must be loaded first.
    for (const p of [...entry.slice(1).reverse(), entry[0]!]) {
      if (seen.has(p)) continue;
      seen.add(p);
      paths.push(p);
    }
  }
  return { paths, builtin, unknown };
}

/** Loads the modules (PID 1). A failure is logged; the boot goes on (a mount will then say what is missing). */
export function loadKernelModules(names: string[], release = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()): void {
  if (names.length === 0) return;
  const dir = `/lib/modules/${release}`;
  let index: ModuleIndex;
  try {
    index = readModuleIndex(dir);
  } catch (e) {
    log.error("no module index; modules not loaded", { dir, error: describeError(e) });
    return;
  }
  const { paths, builtin, unknown } = loadOrder(index, names);
  for (const b of builtin) log.info("built into the kernel", { name: b });
  for (const u of unknown) log.error("unknown module", { name: u, dir });
  for (const p of paths) {
    try {
      const fresh = loadModuleFile(`${dir}/${p}`);
      log.info(fresh ? "loaded" : "already loaded", { name: nameOf(p) });
    } catch (e) {
      log.error("load failed", { name: nameOf(p), error: describeError(e) });
    }
  }
}
