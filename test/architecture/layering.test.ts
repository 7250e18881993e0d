// The import graph of src/: no cycle, and no module importing from a higher layer (the house rules).
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const src = resolve(import.meta.dir, "../../src");

/** Lowest first. A module may import its own layer or lower ones. */
const layers: string[][] = [
  ["errors.ts", "log.ts", "util/", "types/"],
  ["sys/"],
  ["gguf/", "journal/", "config/", "hw/", "initramfs/", "fleet/"],
  ["neural/", "rts/", "evolution/", "supervisor/", "init/"],
  ["heartbeat/", "control/"],
  ["boot/"],
  ["cli/"],
  ["main.ts", "index.ts"],
];

function layerOf(file: string): number {
  const i = layers.findIndex((l) => l.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
  if (i < 0) throw new Error(`src/${file} is in no layer: add its directory to test/architecture/layering.test.ts`);
  return i;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Relative imports of a module (static, type-only and dynamic alike: each is a dependency). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
    const target = resolve(dirname(file), m[1]!);
    if (target.startsWith(`${src}/`) && target.endsWith(".ts")) out.push(relative(src, target));
  }
  return out;
}

const graph = new Map(files(src).map((f) => [relative(src, f), importsOf(f)]));

test("no module imports from a higher layer", () => {
  const upward: string[] = [];
  for (const [from, tos] of graph) for (const to of tos) if (layerOf(to) > layerOf(from)) upward.push(`${from} -> ${to}`);
  expect(upward).toEqual([]);
});

test("the import graph of src/ has no cycle", () => {
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "visiting") {
      cycles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
      return;
    }
    state.set(f, "visiting");
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  expect(cycles).toEqual([]);
});

test("only src/sys imports bun:ffi", () => {
  const users = [...graph.keys()].filter((f) => /from\s+"bun:ffi"/.test(readFileSync(join(src, f), "utf8")) && !f.startsWith("sys/"));
  expect(users).toEqual([]);
});
