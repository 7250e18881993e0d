// Kernel modules without modules.dep (a kernel package extracted with dpkg -x): dependencies read from each .ko's .modinfo.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadOrder, readModuleIndex } from "../../src/boot/kernel-modules.ts";
import { PackageError } from "../../src/errors.ts";
import { buildInitramfs } from "../../src/initramfs/build.ts";
import { dependenciesFromModinfo, readModinfo } from "../../src/initramfs/modinfo.ts";
import { moduleName, selectModules } from "../../src/initramfs/modules.ts";
import { readCpio, resolveIn } from "./cpio-reader.ts";
import { tempDir } from "./helpers.ts";

/** A minimal ELF relocatable object (64-bit, or 32-bit as an i386 kernel's modules) with the sections .modinfo (NUL-separated key=value) and .shstrtab. */
function koBytes(modinfo: string[], section = ".modinfo", bits: 32 | 64 = 64): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const info = enc.encode(modinfo.map((s) => `${s}\0`).join(""));
  const shstr = enc.encode(`\0${section}\0.shstrtab\0`);
  const [ehsize, shentsize] = bits === 64 ? [64, 64] : [52, 40];
  const shoff = Math.ceil((ehsize + info.length + shstr.length) / 8) * 8;
  const b = new Uint8Array(shoff + 3 * shentsize);
  const v = new DataView(b.buffer);
  const word = (at: number, x: number) => (bits === 64 ? v.setBigUint64(at, BigInt(x), true) : v.setUint32(at, x, true));
  b.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, 1, 1]);
  v.setUint16(0x10, 1, true); // ET_REL
  v.setUint16(0x12, bits === 64 ? 62 : 3, true); // x86-64 / i386
  v.setUint32(0x14, 1, true);
  word(bits === 64 ? 0x28 : 0x20, shoff);
  v.setUint16(bits === 64 ? 0x34 : 0x28, ehsize, true);
  v.setUint16(bits === 64 ? 0x3a : 0x2e, shentsize, true);
  v.setUint16(bits === 64 ? 0x3c : 0x30, 3, true);
  v.setUint16(bits === 64 ? 0x3e : 0x32, 2, true);
  b.set(info, ehsize);
  b.set(shstr, ehsize + info.length);
  const sh = (i: number, name: number, type: number, offset: number, size: number) => {
    const at = shoff + i * shentsize;
    v.setUint32(at, name, true);
    v.setUint32(at + 4, type, true);
    word(at + (bits === 64 ? 0x18 : 0x10), offset);
    word(at + (bits === 64 ? 0x20 : 0x14), size);
  };
  sh(1, 1, 1, ehsize, info.length);
  sh(2, 2 + section.length, 3, ehsize + info.length, shstr.length);
  return b;
}

/** name -> [path, direct dependencies]: a diamond (a -> b, c -> d), a chain (ext4 -> jbd2 ...), dashes in file names. */
const TREE: Record<string, [string, string[]]> = {
  a: ["kernel/x/a.ko", ["b", "c"]],
  b: ["kernel/x/b.ko.gz", ["d"]],
  c: ["kernel/y/c.ko.zst", ["d"]],
  d: ["kernel/y/d.ko", []],
  ext4: ["kernel/fs/ext4/ext4.ko", ["crc16", "mbcache", "jbd2"]],
  jbd2: ["kernel/fs/jbd2/jbd2.ko", []],
  mbcache: ["kernel/fs/mbcache.ko", []],
  crc16: ["kernel/lib/crc16.ko", []],
  crc32c_intel: ["kernel/arch/x86/crypto/crc32c-intel.ko", []],
  virtio_pci: ["kernel/drivers/virtio/virtio_pci.ko", ["virtio_pci_modern_dev", "virtio", "virtio_ring"]],
  virtio_pci_modern_dev: ["kernel/drivers/virtio/virtio_pci_modern_dev.ko", []],
  virtio: ["kernel/drivers/virtio/virtio.ko", ["virtio_ring"]],
  virtio_ring: ["kernel/drivers/virtio/virtio_ring.ko", []],
  unrelated: ["kernel/z/unrelated.ko", ["d"]],
};

describe("modules from .modinfo", () => {
  const t = tempDir("modinfo");
  const mdir = join(t.dir, "lib/modules/6.1.0-test");
  const prog = join(t.dir, "prog");
  beforeAll(() => {
    // A static ELF to stand in for the pre-init and the executable of the image.
    writeFileSync(`${prog}.c`, "int main(void) { return 0; }\n");
    const cc = Bun.spawnSync(["gcc", "-static", "-O1", "-o", prog, `${prog}.c`], { stderr: "pipe", timeout: 60_000 });
    if (cc.exitCode !== 0) throw new Error(`gcc: ${cc.stderr}`);
    for (const [name, [path, deps]] of Object.entries(TREE)) {
      const raw = koBytes([`license=GPL`, `depends=${deps.join(",")}`, `name=${name}`, "alias=x", "alias=y"]);
      const data = path.endsWith(".gz") ? Bun.gzipSync(raw) : path.endsWith(".zst") ? Bun.zstdCompressSync(raw) : raw;
      mkdirSync(dirname(join(mdir, path)), { recursive: true });
      writeFileSync(join(mdir, path), data);
    }
  });
  afterAll(() => t.cleanup());

  test("reads every key of .modinfo from a plain, a gzip and a zstd module (repeated keys kept)", () => {
    for (const n of ["a", "b", "c"]) {
      const info = readModinfo(join(mdir, TREE[n]![0]));
      expect(info.get("name")).toEqual([n]);
      expect(info.get("depends")).toEqual([TREE[n]![1].join(",")]);
      expect(info.get("alias")).toEqual(["x", "y"]);
    }
  });

  test("a file that is not ELF, has no .modinfo, or is compressed with xz is a PackageError naming the file", () => {
    writeFileSync(join(t.dir, "text.ko"), "not an ELF file at all, just text long enough for a header check ....");
    writeFileSync(join(t.dir, "nomodinfo.ko"), koBytes(["name=x"], ".notmodinfo"));
    writeFileSync(join(t.dir, "m.ko.xz"), koBytes(["name=x"]));
    for (const f of ["text.ko", "nomodinfo.ko", "m.ko.xz"]) {
      expect(() => readModinfo(join(t.dir, f))).toThrow(PackageError);
      expect(() => readModinfo(join(t.dir, f))).toThrow(f);
    }
  });

  test("a 32-bit module (an i386 kernel's) was refused as 'not a 64-bit ELF file' by modinfo.ts's own section parser: read through the shared ELF reader", () => {
    writeFileSync(join(t.dir, "i386.ko"), koBytes(["license=GPL", "depends=", "name=i386"], ".modinfo", 32));
    const info = readModinfo(join(t.dir, "i386.ko"));
    expect(info.get("name")).toEqual(["i386"]);
    expect(info.get("license")).toEqual(["GPL"]);
  });

  test("a module whose section table lies past its end (a .ko cut short) stays a PackageError naming the file", () => {
    const cut = koBytes(["name=cut"]);
    writeFileSync(join(t.dir, "cut.ko"), cut.subarray(0, cut.length - 10));
    expect(() => readModinfo(join(t.dir, "cut.ko"))).toThrow(PackageError);
    expect(() => readModinfo(join(t.dir, "cut.ko"))).toThrow(join(t.dir, "cut.ko"));
  });

  test("without modules.dep, a module's line lists its whole closure so that read backwards it is a load order", () => {
    const deps = dependenciesFromModinfo(mdir, ["a", "ext4", "virtio_pci"]);
    const pathOf = (n: string) => TREE[n]![0];
    expect(deps.get(pathOf("a"))!.toSorted()).toEqual([pathOf("b"), pathOf("c"), pathOf("d")].toSorted());
    expect(deps.has(pathOf("unrelated"))).toBe(false);
    for (const [file, line] of deps) {
      const order = [...line].reverse().concat(file);
      for (const [i, f] of order.entries()) for (const d of TREE[moduleName(f)]![1]) expect(order.indexOf(pathOf(d))).toBeLessThan(i);
    }
  });

  test("selectModules falls back to .modinfo; the init's loader reads the modules.dep it writes in a dependency-respecting order", () => {
    const sel = selectModules(mdir, ["virtio-pci", "ext4", "a"]);
    expect(sel.files.map(moduleName).toSorted()).toEqual(["a", "b", "c", "crc16", "d", "ext4", "jbd2", "mbcache", "virtio", "virtio_pci", "virtio_pci_modern_dev", "virtio_ring"]);
    const img = join(t.dir, "image", "lib/modules/6.1.0-test");
    mkdirSync(img, { recursive: true });
    writeFileSync(join(img, "modules.dep"), sel.modulesDep);
    const { paths, unknown } = loadOrder(readModuleIndex(img), ["virtio_pci", "ext4", "a"]);
    expect(unknown).toEqual([]);
    expect(paths.toSorted()).toEqual(sel.files.toSorted());
    for (const [i, p] of paths.entries()) for (const d of TREE[moduleName(p)]![1]) expect(paths.indexOf(TREE[d]![0])).toBeLessThan(i);
    expect(() => selectModules(mdir, ["nosuch"])).toThrow(PackageError);
  });

  test("a dependency that is not in the tree is a PackageError naming both modules", () => {
    const broken = join(t.dir, "broken");
    mkdirSync(join(broken, "kernel"), { recursive: true });
    writeFileSync(join(broken, "kernel/top.ko"), koBytes(["depends=gone"]));
    expect(() => dependenciesFromModinfo(broken, ["top"])).toThrow(/top\.ko depends on gone/);
  });

  test("the image carries modules.builtin next to modules.dep when the kernel has one", () => {
    writeFileSync(join(mdir, "modules.builtin"), "kernel/lib/crc32c.ko\n");
    const image = buildInitramfs({ preinit: prog, exe: prog, compression: "none", modules: { dir: mdir, version: "6.1.0-test", names: ["ext4"] } });
    const byName = new Map(readCpio(image.bytes).map((r) => [r.name, r]));
    expect(new TextDecoder().decode(resolveIn(byName, "lib/modules/6.1.0-test/modules.builtin")!.data)).toBe("kernel/lib/crc32c.ko\n");
    expect(new TextDecoder().decode(resolveIn(byName, "lib/modules/6.1.0-test/modules.dep")!.data)).toContain("kernel/fs/ext4/ext4.ko:");
    expect(resolveIn(byName, "lib/modules/6.1.0-test/kernel/lib/crc16.ko")).not.toBeNull();
    expect(resolveIn(byName, "lib/modules/6.1.0-test/kernel/z/unrelated.ko")).toBeNull();
  });
});
