// modules.dep resolution: dependencies first, each once; built-ins and unknown names told apart.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrder, readModuleIndex } from "../../src/boot/kernel-modules.ts";
import { tempDir } from "../pid1/harness.ts";

test("loads dependencies before the module, shared ones once, and reports built-in and unknown names", () => {
  const dir = join(tempDir(), "6.1.0-test");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "modules.dep"),
    ["kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko", "kernel/fs/jbd2/jbd2.ko:", "kernel/fs/mbcache.ko:", "kernel/lib/crc16.ko:", "kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio_ring.ko:", ""].join("\n"),
  );
  writeFileSync(join(dir, "modules.builtin"), "kernel/drivers/virtio/virtio_pci.ko\n");
  const idx = readModuleIndex(dir);
  const r = loadOrder(idx, ["virtio-blk", "ext4", "jbd2", "virtio_pci", "nosuch"]);
  expect(r.paths).toEqual([
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/block/virtio_blk.ko.xz",
    "kernel/lib/crc16.ko",
    "kernel/fs/jbd2/jbd2.ko",
    "kernel/fs/mbcache.ko",
    "kernel/fs/ext4/ext4.ko",
  ]);
  expect(r.builtin).toEqual(["virtio_pci"]);
  expect(r.unknown).toEqual(["nosuch"]);
});
