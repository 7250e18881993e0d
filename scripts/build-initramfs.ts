// Builds dist/initramfs.cpio.zst (zstd; --compress xz for the smallest image, .xz; gzip, .gz) from dist/ (run scripts/build.ts first); options as `vector-boot initramfs --help`.
import { resolve } from "node:path";
import { runInitramfs } from "../src/cli/initramfs.ts";
import { describeError, exitCodeOf } from "../src/errors.ts";

const root = resolve(import.meta.dir, "..");
try {
  process.exitCode = await runInitramfs(process.argv.slice(2), root);
} catch (err) {
  process.stderr.write(`build-initramfs: ${describeError(err)}\n`);
  process.exitCode = exitCodeOf(err);
}
