// What tini mode (`vector-boot -- CMD`) may not load at start: a node: builtin or an npm package (node:fs is loaded on first use, src/util/node-fs.ts).
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { importChain, src, staticImports } from "./static-imports.ts";

/** What `vector-boot -- CMD` evaluates: the entry, then the two modules src/cli/run-cli.ts imports for it. */
const entries = ["main.ts", "init/tini-options.ts", "init/tini.ts"];

test("tini mode loaded node:fs at start through a static import on a path run only when exec fails (sys/exec-diagnosis.ts): `-- true` took 160 more page faults and 4.5 ms more (1.70x -> 1.98x the empty Bun program)", () => {
  const graph = staticImports(entries);
  expect(graph.size).toBeGreaterThan(20); // the walk followed tini mode's imports
  expect(graph.has(resolve(src, "sys/exec-diagnosis.ts"))).toBe(true);
  const builtins = [...graph].flatMap(([f, m]) => m.packages.filter((p) => p.startsWith("node:") || !p.includes(":")).map((p) => `${p} <- ${importChain(graph, f)}`));
  expect(builtins).toEqual([]);
});
