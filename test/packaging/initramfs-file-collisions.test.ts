// initramfs --file destinations ending in "/" or colliding with an entry the image always holds: a usage error naming --file.
import { afterAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir("initramfs-collide");
afterAll(() => t.cleanup());
const src = join(t.dir, "extra.txt");
writeFileSync(src, "extra\n");

test("initramfs --file X:/etc/ (a trailing slash) or X:/init, X:/sbin/vector-boot, X:/dev/null, X:/init/x, X:/sbin exited 65 with initramfs.path ('/init added twice as file and file'), naming neither --file nor the argument: now a usage error (64) naming the argument and what it collides with, before any work, no image", () => {
  const cases: Array<[string, string]> = [
    ["/etc/", '"/"'],
    ["/etc/hostname/", '"/"'],
    ["/init", "pre-init"],
    ["/sbin/vector-boot", "executable"],
    ["/dev/null", "device node"],
    ["/etc", "directory /etc"],
    ["/init/x", "pre-init"],
    ["/sbin", "directory /sbin"],
  ];
  for (const [dest, what] of cases) {
    const img = join(t.dir, "img.cpio");
    const arg = `${src}:${dest}`;
    const r = runShipped(["initramfs", "--compress", "none", "--file", arg, "-o", img], { timeoutMs: 60_000 });
    expect(r.code, `${dest}: ${r.stderr}`).toBe(64);
    expect(r.stderr).toContain(`--file ${JSON.stringify(arg)}`);
    expect(r.stderr).toContain(what);
    expect(r.stderr).not.toContain("ELF dependencies"); // refused before the build started
    expect(existsSync(img)).toBe(false);
  }
}, 300_000);

test("initramfs: two --file arguments for one destination, or one under the other, are a usage error naming both; a --file over the --config destination too", () => {
  const img = join(t.dir, "two.cpio");
  const other = join(t.dir, "other.txt");
  writeFileSync(other, "other\n");
  for (const [a, b] of [["/etc/x", "/etc/x"], ["/etc/x", "/etc/x/y"], ["/etc/x/y", "/etc/x"]] as const) {
    const r = runShipped(["initramfs", "--compress", "none", "--file", `${src}:${a}`, "--file", `${other}:${b}`, "-o", img], { timeoutMs: 60_000 });
    expect(r.code, `${a} ${b}: ${r.stderr}`).toBe(64);
    expect(r.stderr).toContain(`--file ${JSON.stringify(`${other}:${b}`)}`);
    expect(r.stderr).toContain(`--file ${JSON.stringify(`${src}:${a}`)}`);
    expect(existsSync(img)).toBe(false);
  }
  const config = join(t.dir, "config.json");
  writeFileSync(config, "{}\n");
  const r = runShipped(["initramfs", "--compress", "none", "--config", config, "--file", `${src}:/etc/vector-boot/config.json`, "-o", img], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr).toContain("--config");
  expect(existsSync(img)).toBe(false);
}, 300_000);

test("initramfs --file to a new path (beside the built-in entries) still builds", () => {
  const img = join(t.dir, "ok.cpio");
  const r = runShipped(["initramfs", "--compress", "none", "--list", "--file", `${src}:/etc/hostname`, "--file", `${src}:/sbin/other`, "-o", img], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain("file    /etc/hostname\n");
  expect(r.stdout).toContain("file    /sbin/other\n");
}, 180_000);

test("initramfs --file X:/lib64/ld-linux-x86-64.so.2, a path the loader takes (a symlink on this host), exited 65 ('initramfs.path: ... added twice as symlink and file') naming neither --file nor the argument: a usage error (64) naming the argument, no image", () => {
  const img = join(t.dir, "loader.cpio");
  const arg = `${src}:/lib64/ld-linux-x86-64.so.2`;
  const r = runShipped(["initramfs", "--compress", "none", "--file", arg, "-o", img], { timeoutMs: 120_000 });
  expect({ code: r.code }).toEqual({ code: 64 });
  expect(r.stderr).toContain(`--file ${JSON.stringify(arg)}`);
  expect(r.stderr).toContain("collides with what the image already holds");
  expect(existsSync(img)).toBe(false);
}, 180_000);
