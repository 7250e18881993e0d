// initramfs --file (or --config) larger than a cpio newc entry can hold: refused naming the file before it is read.
import { afterAll, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir("initramfs-large");
afterAll(() => t.cleanup());

test("initramfs --file of more than 4 GiB was read whole into memory first and failed with a raw ENOMEM (exit 70, 'internal error'): refused before reading, exit 65, naming the file, its size and newc's limit", () => {
  const big = join(t.dir, "big.bin");
  const fd = openSync(big, "w");
  ftruncateSync(fd, 2 ** 32); // sparse: one byte more than newc's 8-hex-digit filesize holds
  closeSync(fd);
  const out = join(t.dir, "image.cpio");
  const r = runShipped(["initramfs", "--compress", "none", "--file", `${big}:/data/big.bin`, "-o", out], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(65);
  expect(r.stderr).toContain(big);
  expect(r.stderr).toContain("4294967296 bytes");
  expect(r.stderr).toContain("4294967295");
  expect(readdirSync(t.dir)).toEqual(["big.bin"]);
}, 90_000);
