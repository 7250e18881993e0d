// Loading the boot's modules maps no native shim: each src/sys module opens its symbols at their first call, not at import.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, run, shim } from "./scratch-package.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-boot-lazy-shim-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("loading the boot's module graph dlopened the shim (log-pipe, fd-wake, notify and epoll opened their symbols at import: one dlopen each, before the first phase): a fresh process that imports src/boot/boot.ts maps no libvbshim.so until a call needs it", () => {
  expect(existsSync(shim), `${shim} is missing: run scripts/build.ts first`).toBe(true);
  // A fresh process: this one's earlier imports may have opened the shim already.
  const main = join(dir, "main.ts");
  writeFileSync(
    main,
    `import { readFileSync } from "node:fs";
const mapped = () => readFileSync("/proc/self/maps", "utf8").split("\\n").some((l) => l.includes("libvbshim"));
await import(${JSON.stringify(join(root, "src/boot/boot.ts"))});
const afterImport = mapped();
const { logPipe } = await import(${JSON.stringify(join(root, "src/sys/log-pipe.ts"))});
const fds = logPipe();
console.log(JSON.stringify({ afterImport, afterCall: mapped(), fds: fds.length }));
`,
  );
  const r = run([process.execPath, main], dir, 60_000);
  expect(r.code, r.err).toBe(0);
  expect(JSON.parse(r.out.trim().split("\n").at(-1)!)).toEqual({ afterImport: false, afterCall: true, fds: 2 });
}, 120_000);
