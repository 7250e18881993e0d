// Importing the library maps no native shim: it is opened at the first call that needs it (here the first mat-vec product).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, run, shim } from "./scratch-package.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-library-lazy-shim-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("importing the library dlopened the shim (src/sys/matvec.ts opened it when loaded, the other src/sys modules at first use): a fresh process that imports it maps no libvbshim.so until its first mat-vec product", () => {
  expect(existsSync(shim), `${shim} is missing: run scripts/build.ts first`).toBe(true);
  // A fresh process: this one's earlier imports may have opened the shim already.
  const main = join(dir, "main.ts");
  writeFileSync(
    main,
    `import { readFileSync } from "node:fs";
const mapped = () => readFileSync("/proc/self/maps", "utf8").split("\\n").some((l) => l.includes("libvbshim"));
const { KernelType, matvec, prepareMatrix } = await import(${JSON.stringify(join(root, "src/index.ts"))});
const afterImport = mapped();
const y = new Float32Array(1);
matvec(prepareMatrix(KernelType.F32, 1, 2, new Uint8Array(new Float32Array([2, 3]).buffer)), new Float32Array([5, 7]), y);
console.log(JSON.stringify({ afterImport, afterProduct: mapped(), y: y[0] }));
`,
  );
  const r = run([process.execPath, main], dir, 60_000);
  expect(r.code, r.err).toBe(0);
  // The product ran on the native kernels (the shim is built: the documented fallback is for when it is not).
  expect(JSON.parse(r.out.trim().split("\n").at(-1)!)).toEqual({ afterImport: false, afterProduct: true, y: 31 });
}, 120_000);
