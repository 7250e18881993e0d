// The atomic replace's temp file: a symlink or a stale file at its name must not decide where the bytes go or what mode they get.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, writeFileAtomicAsync } from "../../src/journal/fs-durable.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-atomic-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const bytes = new TextEncoder().encode("checkpoint bytes\n");

for (const [name, write] of [
  ["writeFileAtomic", async (p: string) => writeFileAtomic(p, [bytes])],
  ["writeFileAtomicAsync", (p: string) => writeFileAtomicAsync(p, [bytes])],
] as const) {
  test(`${name}: a symlink planted at the temp name was followed, and the file it pointed to was overwritten`, async () => {
    const victim = join(dir, "victim");
    writeFileSync(victim, "precious\n");
    const path = join(dir, "ckpt.gguf");
    symlinkSync(victim, `${path}.tmp`);
    await write(path);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(readFileSync(path, "utf8")).toBe("checkpoint bytes\n");
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  test(`${name}: a stale temp file left by a crash gave the new file its own mode (0644), not the mode asked for (0600)`, async () => {
    const path = join(dir, "ckpt.gguf");
    writeFileSync(`${path}.tmp`, "half a checkpoint");
    chmodSync(`${path}.tmp`, 0o644);
    await write(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe("checkpoint bytes\n");
  });
}

test("a command's output (writeFileAtomically): a symlink planted at its temp name (out.tmp-PID) was followed and the file it pointed to overwritten; now refused, the file untouched", async () => {
  const { writeFileAtomically } = await import("../../src/util/atomic-write.ts");
  const victim = join(dir, "victim");
  writeFileSync(victim, "precious\n");
  const out = join(dir, "image.rts");
  symlinkSync(victim, `${out}.tmp-${process.pid}`);
  expect(() => writeFileAtomically(out, (fd) => void Bun.write(Bun.file(fd), "x"))).toThrow(/EEXIST|image\.rts/);
  expect(readFileSync(victim, "utf8")).toBe("precious\n");
  expect(existsSync(out)).toBe(false);
});
