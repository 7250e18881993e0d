// What the boot path may not load: classic zod (modules loaded before the first beat use zod/mini, src/util/zod-mini.ts), the public-API barrels.
import { expect, test } from "bun:test";
import { relative, resolve } from "node:path";
import { importChain, src, staticImports } from "./static-imports.ts";

/** What the executable loads to its first beat: the boot command and the heartbeat's worker threads. */
const entries = ["main.ts", "cli/boot.ts", "boot/boot.ts", "heartbeat/metabolic-worker.ts", "neural/matvec-worker.ts", "heartbeat/beat-sleeper-worker.ts"];

test("a module on the boot path imports classic zod (only zod/mini and zod/locales may load before the first beat)", () => {
  const graph = staticImports(entries);
  expect(graph.size).toBeGreaterThan(100); // the walk really followed the boot's imports
  expect(graph.has(resolve(src, "util/zod-mini.ts"))).toBe(true);
  const allowed = new Set(["zod/mini", "zod/locales", "zod/v4/core"]);
  const classic = [...graph].filter(([, m]) => m.packages.some((p) => (p === "zod" || p.startsWith("zod/")) && !allowed.has(p))).map(([f]) => importChain(graph, f));
  expect(classic).toEqual([]);
});

test("a boot phase imports a public-API barrel (src/neural/index.ts, src/heartbeat/index.ts): every boot evaluated what only the library's users need, such as the model generator's default cortex (built at import)", () => {
  const graph = staticImports(entries);
  expect(graph.has(resolve(src, "boot/runtime-phase.ts"))).toBe(true);
  const barrels = ["index.ts", "neural/index.ts", "heartbeat/index.ts", "neural/default-cortex.ts"].filter((f) => graph.has(resolve(src, f)));
  expect(barrels.map((f) => `${f} <- ${relative(src, graph.get(resolve(src, f))!.importer ?? "")}`)).toEqual([]);
});
