// initramfs: cpio newc structure (read back by an independent reader), contents, reproducibility, ELF dependency walk.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { PackageError } from "../../src/errors.ts";
import { buildInitramfs, writeInitramfs } from "../../src/initramfs/build.ts";
import { elfDependencies, ldSoConfDirs } from "../../src/initramfs/elf-deps.ts";
import { readElf } from "../../src/initramfs/elf.ts";
import { selectModules } from "../../src/initramfs/modules.ts";
import { fileType, readCpio, resolveIn, type CpioRecord } from "./cpio-reader.ts";
import { bun, root, tempDir } from "./helpers.ts";
import { exe as shippedExe, runShipped, tempDir as shippedTempDir } from "../harness/artifact.ts";

const t = tempDir("initramfs");
afterAll(() => t.cleanup());
const preinit = join(t.dir, "preinit");
const exe = join(t.dir, "hello");
const libDir = join(t.dir, "lib");
const originExe = join(t.dir, "uses-origin");

function gcc(...args: string[]): void {
  const r = Bun.spawnSync(["gcc", ...args], { stderr: "pipe", timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`gcc ${args.join(" ")}: ${r.stderr}`);
}

beforeAll(() => {
  writeFileSync(join(t.dir, "pre.c"), "int main(void){return 0;}\n");
  gcc("-static", "-o", preinit, join(t.dir, "pre.c"));
  writeFileSync(join(t.dir, "hello.c"), '#include <math.h>\n#include <stdio.h>\nint main(int c,char**v){(void)v;printf("%f\\n",sqrt(c));return 0;}\n');
  gcc("-o", exe, join(t.dir, "hello.c"), "-lm");
  mkdirSync(libDir);
  writeFileSync(join(t.dir, "vb.c"), "int vb_answer(void){return 42;}\n");
  gcc("-shared", "-fPIC", "-Wl,-soname,libvbtest.so.1", "-o", join(libDir, "libvbtest.so.1"), join(t.dir, "vb.c"));
  writeFileSync(join(t.dir, "use.c"), "int vb_answer(void);int main(void){return vb_answer()==42?0:1;}\n");
  gcc("-o", originExe, join(t.dir, "use.c"), `-L${libDir}`, "-l:libvbtest.so.1", "-Wl,-rpath,$ORIGIN/lib");
}, 120_000);

/** An image's archive: zstd (the default), xz (decompressed by the xz program, not by our code) or gzip, told apart by their magic numbers. */
function unpacked(bytes: Uint8Array): Uint8Array {
  const zstd = bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd;
  const xz = Buffer.from(bytes.subarray(0, 6)).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (xz) {
    const r = Bun.spawnSync(["xz", "--decompress", "--stdout"], { stdin: bytes, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(`xz -d: ${r.stderr}`);
    return new Uint8Array(r.stdout);
  }
  return new Uint8Array(zstd ? zstdDecompressSync(bytes) : gunzipSync(bytes));
}

function records(bytes: Uint8Array): { list: CpioRecord[]; byName: Map<string, CpioRecord> } {
  const list = readCpio(unpacked(bytes));
  return { list, byName: new Map(list.map((r) => [r.name, r])) };
}

/** ldd's view, used only as an independent reference for the walker. */
function lddPaths(file: string): string[] {
  const r = Bun.spawnSync(["ldd", file], { stdout: "pipe", timeout: 30_000 });
  return r.stdout
    .toString()
    .split("\n")
    .map((l) => /=>\s*(\S+)\s*\(/.exec(l)?.[1] ?? /^\s*(\/\S+)\s*\(/.exec(l)?.[1])
    .filter((p): p is string => !!p);
}

describe("ELF dependencies", () => {
  test("finds the loader and libc of the vector-boot executable (or the bun binary it is built from), like ldd", () => {
    const target = existsSync(join(root, "dist/vector-boot")) ? join(root, "dist/vector-boot") : bun;
    const deps = elfDependencies(target);
    const interp = deps.find((d) => d.kind === "interpreter");
    expect(interp?.path).toBe(readElf(target)!.interp!);
    expect(interp?.path).toMatch(/ld-linux-x86-64\.so\.2$/);
    expect(deps.some((d) => d.name === "libc.so.6")).toBe(true);
    const real = (p: string) => Bun.spawnSync(["realpath", p], { stdout: "pipe" }).stdout.toString().trim();
    expect(new Set(deps.map((d) => real(d.path)))).toEqual(new Set(lddPaths(target).map(real)));
  });

  test("resolves DT_NEEDED through RUNPATH/RPATH with $ORIGIN", () => {
    const deps = elfDependencies(originExe);
    expect(deps.find((d) => d.name === "libvbtest.so.1")?.path).toBe(join(libDir, "libvbtest.so.1"));
    expect(deps.some((d) => d.name === "libc.so.6")).toBe(true);
  });

  test("names a library that cannot be found", () => {
    const e = (() => {
      try {
        elfDependencies(originExe, { libDirs: ["/nonexistent"] });
      } catch (err) {
        return err;
      }
    })();
    // libvbtest is found through $ORIGIN, libc is not in /nonexistent
    expect(e).toBeInstanceOf(PackageError);
    expect((e as PackageError).message).toContain("libc.so.6");
  });

  test("returns null for a non-ELF file and rejects a truncated ELF", () => {
    expect(readElf(join(t.dir, "hello.c"))).toBeNull();
    const trunc = join(t.dir, "trunc.elf");
    writeFileSync(trunc, readFileSync(exe).subarray(0, 200));
    expect(() => readElf(trunc)).toThrow(PackageError);
  });

  test("reads ld.so.conf includes", () => {
    const conf = join(t.dir, "ld.so.conf");
    mkdirSync(join(t.dir, "ld.so.conf.d"));
    writeFileSync(join(t.dir, "ld.so.conf.d", "b.conf"), "/opt/b # comment\n");
    writeFileSync(join(t.dir, "ld.so.conf.d", "a.conf"), "/opt/a\n");
    writeFileSync(conf, `/opt/first\ninclude ${join(t.dir, "ld.so.conf.d")}/*.conf\n`);
    expect(ldSoConfDirs(conf)).toEqual(["/opt/first", "/opt/a", "/opt/b"]);
  });
});

describe("initramfs image", () => {
  const config = join(t.dir, "config.json");
  writeFileSync(config, '{"services":[]}\n');
  const opts = () => ({ preinit, exe, config, runtimeLibs: [originExe] });

  test("is a well-formed zstd-compressed (the default) cpio newc archive with /init, /sbin/vector-boot, config, devices and mount points", () => {
    const { list, byName } = records(buildInitramfs(opts()).bytes);
    expect(list.at(-1)!.name).toBe("TRAILER!!!");
    const names = list.slice(0, -1).map((r) => r.name);
    expect(names).toEqual([...names].sort());
    for (const r of list.slice(0, -1)) {
      expect(r.uid).toBe(0);
      expect(r.gid).toBe(0);
      expect(r.mtime).toBe(0);
      const parent = r.name.split("/").slice(0, -1).join("/");
      if (parent) expect(fileType(byName.get(parent)!.mode)).toBe("dir");
    }
    const init = byName.get("init")!;
    expect(init.mode).toBe(0o100755);
    expect(Buffer.compare(Buffer.from(init.data), readFileSync(preinit))).toBe(0);
    expect(Buffer.compare(Buffer.from(byName.get("sbin/vector-boot")!.data), readFileSync(exe))).toBe(0);
    expect(new TextDecoder().decode(byName.get("etc/vector-boot/config.json")!.data)).toBe('{"services":[]}\n');
    const console_ = byName.get("dev/console")!;
    expect([fileType(console_.mode), console_.rdevMajor, console_.rdevMinor]).toEqual(["chardev", 5, 1]);
    const nul = byName.get("dev/null")!;
    expect([fileType(nul.mode), nul.rdevMajor, nul.rdevMinor]).toEqual(["chardev", 1, 3]);
    for (const d of ["proc", "sys", "run", "tmp", "dev/shm"]) expect(fileType(byName.get(d)!.mode)).toBe("dir");
    expect(byName.get("tmp")!.mode & 0o7777).toBe(0o1777);
  });

  test("the loader and every needed library resolve inside the image, byte-identical to the host's", () => {
    const { byName } = records(buildInitramfs(opts()).bytes);
    const deps = [...elfDependencies(exe), ...elfDependencies(originExe)];
    for (const d of deps) {
      const r = resolveIn(byName, d.path);
      expect(r, `${d.path} missing from the image`).not.toBeNull();
      expect(fileType(r!.mode)).toBe("file");
      expect(Buffer.compare(Buffer.from(r!.data), readFileSync(d.path))).toBe(0);
    }
    expect(resolveIn(byName, readElf(exe)!.interp!)).not.toBeNull();
  });

  test("building twice gives identical bytes (gzip, zstd and xz)", () => {
    const a = join(t.dir, "a.cpio.gz");
    const b = join(t.dir, "b.cpio.gz");
    writeInitramfs(a, { ...opts(), compression: "gzip" });
    writeInitramfs(b, { ...opts(), compression: "gzip" });
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    const z1 = buildInitramfs({ ...opts(), compression: "zstd" }).bytes;
    const z2 = buildInitramfs({ ...opts(), compression: "zstd" }).bytes;
    expect(Buffer.compare(Buffer.from(z1), Buffer.from(z2))).toBe(0);
    const x1 = buildInitramfs({ ...opts(), compression: "xz" }).bytes;
    const x2 = buildInitramfs({ ...opts(), compression: "xz" }).bytes;
    expect(Buffer.compare(Buffer.from(x1), Buffer.from(x2))).toBe(0);
  }, 120_000); // two xz runs: 4.6 s on a loaded 2-core host, past the 5 s default

  test("an xz image is one the kernel's decoder takes (CRC32 check, x86 BCJ before LZMA2, as `xz --list` reads it) and holds the same archive as the zstd image", () => {
    const xzImage = buildInitramfs({ ...opts(), compression: "xz" }).bytes;
    const path = join(t.dir, "image.cpio.xz");
    writeFileSync(path, xzImage);
    const r = Bun.spawnSync(["xz", "--robot", "--list", "-vv", path], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect(r.exitCode).toBe(0);
    const blocks = r.stdout.toString().split("\n").filter((l) => l.startsWith("block\t"));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) {
      const cols = b.split("\t");
      expect(cols).toContain("CRC32");
      expect(cols.at(-1)).toMatch(/^--x86 --lzma2=/);
    }
    expect(Buffer.compare(Buffer.from(unpacked(xzImage)), Buffer.from(unpacked(buildInitramfs(opts()).bytes)))).toBe(0);
  }, 60_000);

  test("an xz killed by a signal (the OOM killer) was reported as 'exited null:'", () => {
    const bin = join(t.dir, "killed-xz");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "xz"), "#!/bin/sh\nkill -KILL $$\n", { mode: 0o755 });
    const out = join(t.dir, "never.cpio.xz");
    const r = runShipped(["initramfs", "--compress", "xz", "-o", out], { timeoutMs: 60_000, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("--quiet was killed by SIGKILL exit=65");
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  test("a missing pre-init or executable is named in the error", () => {
    expect(() => buildInitramfs({ ...opts(), preinit: join(t.dir, "nope") })).toThrow(/initramfs.preinit/);
    expect(() => buildInitramfs({ ...opts(), exe: join(t.dir, "nope") })).toThrow(/initramfs.exe/);
  });

  test("the shipped executable outside the checkout could not build an image (it looked for ./dist/native/preinit and ./dist/vector-boot); it installs itself and its own pre-init", () => {
    const work = shippedTempDir("vb-initramfs-shipped-");
    const r = runShipped(["initramfs", "--compress", "none"], { cwd: work, timeoutMs: 120_000 });
    expect(r.stderr).not.toContain("not found");
    expect(r.code).toBe(0);
    const image = join(work, "initramfs.cpio");
    const byName = new Map(readCpio(new Uint8Array(readFileSync(image))).map((e) => [e.name, e]));
    expect(Buffer.from(byName.get("init")!.data).equals(readFileSync(join(root, "dist/native/preinit")))).toBe(true);
    expect(Buffer.from(byName.get("sbin/vector-boot")!.data).equals(readFileSync(shippedExe))).toBe(true);
    expect(readdirSync(work)).toEqual(["initramfs.cpio"]); // nothing else left behind (the pre-init's temporary copy)
  }, 150_000);

  test("includes the named kernel modules with their dependencies and a modules.dep for exactly those", () => {
    const mdir = join(t.dir, "modules", "6.1.0-test");
    mkdirSync(join(mdir, "kernel/drivers"), { recursive: true });
    for (const m of ["virtio_blk", "virtio_ring", "virtio", "unrelated"]) writeFileSync(join(mdir, `kernel/drivers/${m}.ko.xz`), `module ${m}`);
    writeFileSync(
      join(mdir, "modules.dep"),
      "kernel/drivers/virtio_blk.ko.xz: kernel/drivers/virtio_ring.ko.xz kernel/drivers/virtio.ko.xz\nkernel/drivers/virtio_ring.ko.xz: kernel/drivers/virtio.ko.xz\nkernel/drivers/virtio.ko.xz:\nkernel/drivers/unrelated.ko.xz:\n",
    );
    const sel = selectModules(mdir, ["virtio-blk"]);
    expect(sel.files).toEqual(["kernel/drivers/virtio.ko.xz", "kernel/drivers/virtio_ring.ko.xz", "kernel/drivers/virtio_blk.ko.xz"]);
    expect(() => selectModules(mdir, ["nosuch"])).toThrow(PackageError);
    const { byName } = records(buildInitramfs({ ...opts(), modules: { dir: mdir, version: "6.1.0-test", names: ["virtio_blk"] } }).bytes);
    const dep = resolveIn(byName, "lib/modules/6.1.0-test/modules.dep")!;
    expect(new TextDecoder().decode(dep.data)).not.toContain("unrelated");
    expect(new TextDecoder().decode(dep.data)).toContain("kernel/drivers/virtio_blk.ko.xz: kernel/drivers/virtio_ring.ko.xz kernel/drivers/virtio.ko.xz");
    expect(resolveIn(byName, "lib/modules/6.1.0-test/kernel/drivers/virtio.ko.xz")).not.toBeNull();
    expect(resolveIn(byName, "lib/modules/6.1.0-test/kernel/drivers/unrelated.ko.xz")).toBeNull();
  });
});
