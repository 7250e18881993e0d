// Library nature: a scratch Bun project depending on this package by path imports the runtime and GGUF reader and runs pixels.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const shim = join(root, "dist/native/libvbshim.so");
let dir = "";

function run(argv: string[], cwd: string, timeout: number) {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", timeout, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-library-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a scratch project depending on vector-boot by path imports NeuralRuntime and readGguf, runs the seed's pixels, and starts the mat-vec and metabolic workers from the package", async () => {
  expect(existsSync(shim), `${shim} is missing: run scripts/build.ts first`).toBe(true);
  // The package as a consumer gets it: package.json, its "files" entries, and the built shim
  // (the whole working tree would also carry .git, .cache and dist: over a gigabyte).
  const pkg = join(dir, "vector-boot");
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { files: string[] };
  mkdirSync(join(pkg, "dist/native"), { recursive: true });
  cpSync(join(root, "package.json"), join(pkg, "package.json"));
  for (const f of manifest.files) if (existsSync(join(root, f))) cpSync(join(root, f), join(pkg, f), { recursive: true });
  cpSync(shim, join(pkg, "dist/native/libvbshim.so"));

  const model = join(dir, "model.gguf");
  // pixel.0 is 1024 x 256: 1 MiB at F32, the size that gets worker threads (Q8_0 keeps it mapped as is).
  const gen = run([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", model, "--type", "F32", "--pixel-hidden", "1024,256"], root, 30_000);
  expect(gen.code, gen.err).toBe(0);

  const app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module", dependencies: { "vector-boot": "file:../vector-boot" } }));
  writeFileSync(
    join(app, "main.ts"),
    `import { NeuralRuntime, readGguf, InputError, MetabolicDaemon, type PixelResult } from "vector-boot";
const path = process.argv[2]!;
const file = readGguf(new Uint8Array(await Bun.file(path).arrayBuffer()));
const rt = new NeuralRuntime({ threads: 2 });
await rt.init(path);
const r: PixelResult = rt.executePixels([[72, 101, 108], [101, 108, 108], [108, 111, 111], [250, 255, 0]]);
let refused = "";
try { rt.executePixels([]); } catch (e) { refused = e instanceof InputError ? e.message : "wrong class"; }
const stats = rt.getStats();
rt.cleanup();
const daemon = new MetabolicDaemon({ sampleMs: 20, smoothingMs: 100 });
daemon.start();
const until = performance.now() + 10_000;
while ((daemon.reader.read(), daemon.stats().samples) < 3 && performance.now() < until) await Bun.sleep(20);
const metabolic = daemon.stats();
await daemon.stop();
console.log(JSON.stringify({ arch: file.meta("general.architecture"), tensors: file.tensors.length, pixels: r.pixels, output: Array.from(r.output), refused, mapped: stats.bytesMapped, workers: stats.workers, parallelRuns: stats.parallelRuns, samples: metabolic.samples, crashes: metabolic.workerCrashes }));
`,
  );
  let install = run([process.execPath, "install", "--offline"], app, 120_000);
  if (install.code !== 0) install = run([process.execPath, "install"], app, 120_000);
  expect(install.code, install.err).toBe(0);
  expect(existsSync(join(app, "node_modules/vector-boot/src/index.ts"))).toBe(true);

  // From another working directory: worker entries must not be resolved against the cwd.
  const r = run([process.execPath, join(app, "main.ts"), model], dir, 60_000);
  expect(r.code, r.err).toBe(0);
  const out = JSON.parse(r.out.trim().split("\n").at(-1)!) as { arch: string; tensors: number; pixels: number; output: number[]; refused: string; mapped: number; workers: number; parallelRuns: number; samples: number; crashes: number };
  expect(out.arch).toBe("vectorland");
  expect(out.tensors).toBe(16); // two pixel hidden layers, plus the safety cases (kernel.ctrm.cases/expect)
  expect(out.workers).toBe(1);
  expect(out.parallelRuns).toBeGreaterThan(0);
  expect(out.samples, r.err).toBeGreaterThanOrEqual(3);
  expect(out.crashes).toBe(0);
  expect(out.pixels).toBe(4);
  expect(out.output.length).toBe(16);
  expect(out.output.every(Number.isFinite)).toBe(true);
  expect(out.refused).toMatch(/no pixels given/);
  expect(out.mapped).toBe(Bun.file(model).size);
}, 240_000);
