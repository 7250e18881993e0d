// The compressions of an initramfs image the kernel can unpack: zstd (default), xz, gzip, none.
import { PackageError } from "../errors.ts";

/** The compressions an image can have (the first is the default; README, Performance: the measurements). */
export const COMPRESSIONS = ["zstd", "xz", "gzip", "none"] as const;
export type Compression = (typeof COMPRESSIONS)[number];
/** File name suffix of an image with that compression. */
export const COMPRESSION_SUFFIX: Record<Compression, string> = { zstd: ".zst", xz: ".xz", gzip: ".gz", none: "" };

/**
 * xz as the kernel's decoder (XZ Embedded, lib/xz) takes it: CRC32, the only check it verifies (others are refused);
 * the x86 BCJ filter before LZMA2 (CONFIG_XZ_DEC_X86: the executable is mostly x86 code, 3 % smaller with it);
 * a 64 MiB dictionary (preset 6's is 8 MiB): the Bun runtime repeats itself at distances past 32 MiB, 2 % smaller
 * (the kernel unpacks an initramfs with a dictionary as large as the header asks, vmalloc'd for the unpack);
 * one thread, so the bytes do not depend on the machine.
 */
export const XZ_ARGV = ["xz", "--format=xz", "--check=crc32", "--x86", "--lzma2=preset=6,dict=64MiB", "--threads=1", "--stdout", "--quiet"];

/** The archive compressed; gzip and zstd in-process, xz by the xz program (Debian's xz-utils). */
export function compress(cpio: Uint8Array<ArrayBuffer>, compression: Compression): Uint8Array {
  switch (compression) {
    case "gzip":
      return Bun.gzipSync(cpio, { level: 6 });
    case "zstd":
      return Bun.zstdCompressSync(cpio, { level: 9 });
    case "none":
      return cpio;
    case "xz": {
      if (!Bun.which(XZ_ARGV[0]!)) throw new PackageError("initramfs.compress", "xz compression needs the xz program (Debian package xz-utils)");
      const r = Bun.spawnSync(XZ_ARGV, { stdin: cpio, stdout: "pipe", stderr: "pipe" });
      // A signal (the OOM killer, a timeout) was reported as "exited null:".
      const how = r.exitCode === null ? `was killed by ${r.signalCode ?? "a signal"}` : `exited ${r.exitCode}`;
      if (r.exitCode !== 0) throw new PackageError("initramfs.compress", `${XZ_ARGV.join(" ")} ${how}${r.stderr.length > 0 ? `: ${r.stderr.toString().trim()}` : ""}`);
      return new Uint8Array(r.stdout);
    }
  }
}
