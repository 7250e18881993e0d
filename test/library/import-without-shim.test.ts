// Library nature without the native shim: a package whose dist/native/libvbshim.so was never built imports, reads and runs models (TypeScript kernels), and says what is missing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyPackage, run, scratchProject } from "./scratch-package.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-library-noshim-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const main = `import { NeuralRuntime, readGguf, writeGguf, buildVectorland, crc32c, openModelSource, SysError } from "vector-boot";
const path = process.argv[2]!;
const bytes = writeGguf(buildVectorland({ seed: 7 }));
await Bun.write(path, bytes);
const file = readGguf(bytes);
const rt = new NeuralRuntime({ threads: 2 });
const info = await rt.init(path); // read into memory: no shim to map it with
const r = rt.executePixels([[72, 101, 108], [250, 255, 0]]);
const stats = rt.getStats();
rt.cleanup();
let needsShim = "";
try { openModelSource({ path }); } catch (e) { needsShim = e instanceof SysError ? e.message : "wrong class: " + String(e); }
console.log(JSON.stringify({ tensors: file.tensors.length, name: info.name, pixels: r.pixels, finite: Array.from(r.output).every(Number.isFinite), mapped: stats.bytesMapped, crc: crc32c(new TextEncoder().encode("123456789")), needsShim }));
`;

test("a package without a built dist/native/libvbshim.so could not be imported at all ('Cannot find module ../../dist/native/libvbshim.so'): it imports, init(path) reads the model, pixels run on the TypeScript kernels, and what needs the shim says it is not built", () => {
  const pkg = copyPackage(dir, false);
  expect(existsSync(join(pkg, "dist/native/libvbshim.so"))).toBe(false);
  const { app, installed, installErr } = scratchProject(dir, { "main.ts": main });
  expect(installed, installErr).toBe(true);
  const r = run([process.execPath, join(app, "main.ts"), join(dir, "model.gguf")], dir, 60_000);
  expect(r.err).not.toContain("Cannot find module");
  expect(r.code, r.err).toBe(0);
  const out = JSON.parse(r.out.trim().split("\n").at(-1)!) as { tensors: number; name: string; pixels: number; finite: boolean; mapped: number; crc: number; needsShim: string };
  expect(out).toEqual({ tensors: 14, name: "vectorland-default", pixels: 2, finite: true, mapped: 0, crc: 0xe3069283, needsShim: expect.stringContaining("libvbshim.so of the vector-boot package is not built") });
  expect(r.err).toContain("reading the model into memory"); // the fallback says so
}, 240_000);
