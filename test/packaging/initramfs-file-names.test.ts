// initramfs --file destinations: one that names no file is a usage error naming --file; --list prints every name on one line.
import { afterAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir("initramfs-names");
afterAll(() => t.cleanup());
const src = join(t.dir, "extra.txt");
writeFileSync(src, "extra\n");

test("initramfs --file SRC:/. (or SRC://, or a .. component) exited 65 with cpio.path, naming neither --file nor the argument: now a usage error (64) naming the option, before any work, no image", () => {
  for (const dest of ["/.", "//", "/etc/.."]) {
    const img = join(t.dir, "img.cpio");
    const r = runShipped(["initramfs", "--compress", "none", "--file", `${src}:${dest}`, "-o", img], { timeoutMs: 60_000 });
    expect(r.code, `${dest}: ${r.stderr}`).toBe(64);
    expect(r.stderr).toContain("--file");
    expect(r.stderr).toContain(JSON.stringify(dest));
    expect(existsSync(img)).toBe(false);
  }
}, 180_000);

test("initramfs --list printed an entry name holding a newline as-is, as two lines (the second no entry at all): names are escaped, one entry per line", () => {
  const img = join(t.dir, "list.cpio");
  const r = runShipped(["initramfs", "--compress", "none", "--list", "--file", `${src}:/etc/a\nb\\c`, "-o", img], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trimEnd().split("\n");
  const entries = lines.slice(0, -1);
  for (const l of entries) expect(l).toMatch(/^(file|dir|symlink|chardev) +\//);
  expect(entries).toContain("file    /etc/a\\nb\\\\c");
  expect(lines.at(-1)).toStartWith(`${img}: `);
}, 120_000);
