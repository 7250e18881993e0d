// The modules of src/ reachable from entry points through static imports, as the architecture tests walk them.
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

export const src = resolve(import.meta.dir, "../../src");

/** A module reached: the module that first imported it (null for an entry) and the packages and builtins it imports by name. */
export interface Reached {
  importer: string | null;
  packages: string[];
}

/**
 * The modules reachable from `entries` (paths relative to src/) through static imports, by Bun's
 * own scan: type-only imports drop out, and import() and require are not followed (what they load
 * is loaded on first use). Keys are absolute paths; non-TypeScript files (JSON, the shim's .so)
 * are reached but not read.
 */
export function staticImports(entries: readonly string[]): Map<string, Reached> {
  const scanner = new Bun.Transpiler({ loader: "ts" });
  const seen = new Map<string, Reached>();
  const queue: [string, string | null][] = entries.map((e) => [resolve(src, e), null]);
  while (queue.length > 0) {
    const [file, importer] = queue.shift()!;
    if (seen.has(file)) continue;
    const packages: string[] = [];
    seen.set(file, { importer, packages });
    if (!file.endsWith(".ts")) continue;
    for (const i of scanner.scanImports(readFileSync(file, "utf8"))) {
      if (i.kind !== "import-statement") continue;
      if (i.path.startsWith(".")) queue.push([resolve(dirname(file), i.path), file]);
      else packages.push(i.path);
    }
  }
  return seen;
}

/** How `file` was reached: "main.ts -> cli/run-cli.ts -> ...". */
export function importChain(graph: Map<string, Reached>, file: string): string {
  const names: string[] = [];
  for (let f: string | null = file; f !== null; f = graph.get(f)!.importer) names.unshift(relative(src, f));
  return names.join(" -> ");
}
