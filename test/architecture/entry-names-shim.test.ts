// The executable's entry carries the shim file's path statically; the library's entry does not (it imports without a built shim).
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { src, staticImports } from "./static-imports.ts";

const shimFile = resolve(src, "sys/shim-file.ts");

test("the executable found its shim file by a require of the chunk holding it at its first dlopen (0.45 ms compiled, in every mode): src/main.ts imports src/sys/shim-file.ts statically, the library's entry still does not", () => {
  const main = staticImports(["main.ts"]);
  expect(main.size).toBeGreaterThan(5); // the walk followed main.ts's imports
  expect(main.has(shimFile)).toBe(true);
  // A package whose dist/native was never built still imports (test/library/import-without-shim.test.ts).
  const library = staticImports(["index.ts"]);
  expect(library.size).toBeGreaterThan(50);
  expect(library.has(shimFile)).toBe(false);
});
