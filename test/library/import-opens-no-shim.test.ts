// Importing the library, or the boot's module graph, maps no native shim: it is opened at the first call that needs it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, run, shim } from "./scratch-package.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-lazy-shim-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `body` in a fresh process (this one's earlier imports may have opened the shim already), with
 * `mapped()` saying whether libvbshim is mapped; returns the JSON of its last line.
 */
function inFreshProcess(name: string, body: string): unknown {
  expect(existsSync(shim), `${shim} is missing: run scripts/build.ts first`).toBe(true);
  const main = join(dir, `${name}.ts`);
  writeFileSync(
    main,
    `import { readFileSync } from "node:fs";
const mapped = () => readFileSync("/proc/self/maps", "utf8").split("\\n").some((l) => l.includes("libvbshim"));
${body}`,
  );
  const r = run([process.execPath, main], dir, 60_000);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out.trim().split("\n").at(-1)!);
}

test("importing the library dlopened the shim (src/sys/matvec.ts opened it when loaded, the other src/sys modules at first use): a fresh process that imports it maps no libvbshim.so until its first mat-vec product", () => {
  const out = inFreshProcess(
    "library",
    `const { KernelType, matvec, prepareMatrix } = await import(${JSON.stringify(join(root, "src/index.ts"))});
const afterImport = mapped();
const y = new Float32Array(1);
matvec(prepareMatrix(KernelType.F32, 1, 2, new Uint8Array(new Float32Array([2, 3]).buffer)), new Float32Array([5, 7]), y);
console.log(JSON.stringify({ afterImport, afterProduct: mapped(), y: y[0] }));
`,
  );
  // The product ran on the native kernels (the shim is built: the documented fallback is for when it is not).
  expect(out).toEqual({ afterImport: false, afterProduct: true, y: 31 });
}, 120_000);

test("loading the boot's module graph dlopened the shim (log-pipe, fd-wake, notify and epoll opened their symbols at import: one dlopen each, before the first phase): a fresh process that imports src/boot/boot.ts maps no libvbshim.so until a call needs it", () => {
  const out = inFreshProcess(
    "boot",
    `await import(${JSON.stringify(join(root, "src/boot/boot.ts"))});
const afterImport = mapped();
const { logPipe } = await import(${JSON.stringify(join(root, "src/sys/log-pipe.ts"))});
const fds = logPipe();
console.log(JSON.stringify({ afterImport, afterCall: mapped(), fds: fds.length }));
`,
  );
  expect(out).toEqual({ afterImport: false, afterCall: true, fds: 2 });
}, 120_000);
