// The executable's entry carries the shim file's path statically; the library's entry does not (it imports without a built shim).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const src = resolve(import.meta.dir, "../../src");
const shimFile = resolve(src, "sys/shim-file.ts");

/** The modules reachable from `entry` through static imports (Bun's own scan; import() and require are not followed). */
function staticGraph(entry: string): Set<string> {
  const scanner = new Bun.Transpiler({ loader: "ts" });
  const seen = new Set<string>();
  const queue = [resolve(src, entry)];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file) || !file.endsWith(".ts")) continue;
    seen.add(file);
    for (const i of scanner.scanImports(readFileSync(file, "utf8"))) if (i.kind === "import-statement" && i.path.startsWith(".")) queue.push(resolve(dirname(file), i.path));
  }
  return seen;
}

test("the executable found its shim file by a require of the chunk holding it at its first dlopen (0.45 ms compiled, in every mode): src/main.ts imports src/sys/shim-file.ts statically, the library's entry still does not", () => {
  const main = staticGraph("main.ts");
  expect(main.size).toBeGreaterThan(5); // the walk followed main.ts's imports
  expect(main.has(shimFile)).toBe(true);
  // A package whose dist/native was never built still imports (test/library/import-without-shim.test.ts).
  const library = staticGraph("index.ts");
  expect(library.size).toBeGreaterThan(50);
  expect(library.has(shimFile)).toBe(false);
});
