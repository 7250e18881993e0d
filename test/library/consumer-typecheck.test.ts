// Library nature, types: a scratch Bun project (bun init's tsconfig, strict) that imports vector-boot type-checks with tsc.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyPackage, root, run, scratchProject, shim } from "./scratch-package.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-library-tsc-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// What `bun init` writes: the configuration another Bun project has.
const bunInitTsconfig = {
  compilerOptions: {
    lib: ["ESNext"], target: "ESNext", module: "Preserve", moduleDetection: "force", jsx: "react-jsx", allowJs: true,
    moduleResolution: "bundler", allowImportingTsExtensions: true, verbatimModuleSyntax: true, noEmit: true,
    strict: true, skipLibCheck: true, noFallthroughCasesInSwitch: true, noUncheckedIndexedAccess: true, noImplicitOverride: true,
  },
};

const main = `import { NeuralRuntime, readGguf, writeGguf, buildVectorland, InputError, VectorBootError, RuntimeInitError, ExitCode, type PixelResult, type RuntimeStats } from "vector-boot";
const bytes: Uint8Array = writeGguf(buildVectorland({ seed: 1 }));
const file = readGguf(bytes);
const rt = new NeuralRuntime();
rt.initSync(bytes);
const r: PixelResult = rt.executePixels([[1, 2, 3]]);
const s: RuntimeStats = rt.getStats();
try { rt.executePixels([]); } catch (e) { if (e instanceof InputError || e instanceof RuntimeInitError) console.log((e as VectorBootError).exitCode === ExitCode.data); }
console.log(file.tensors.length, r.pixels, s.errors);
`;

test("a strict Bun project importing vector-boot type-checks: the package's own sources (the shim's `type: \"file\"` import in src/sys/lib.ts) carry the declarations they need", () => {
  expect(existsSync(shim), `${shim} is missing: run scripts/build.ts first`).toBe(true);
  copyPackage(dir);
  const { app, installed, installErr } = scratchProject(dir, { "main.ts": main, "tsconfig.json": JSON.stringify(bunInitTsconfig) }, { "@types/bun": "1.4.5" });
  expect(installed, installErr).toBe(true);
  // The project's own TypeScript (the consumer's tsc runs on the package's .ts sources, which "types" points to).
  const tsc = run([process.execPath, join(root, "node_modules/typescript/bin/tsc"), "-p", app], app, 120_000);
  expect(tsc.out + tsc.err).toBe("");
  expect(tsc.code).toBe(0);
}, 240_000);
