// A weight byte flipped in the model embedded in a copied executable: the boot ran the changed model silently; now it refuses (65).
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStatusLine } from "../../src/boot/exit-status.ts";
import { encodeTrailer, locateEmbeddedModel, TRAILER_SIZE } from "../../src/rts/embed.ts";
import { VERIFY_EMBEDDED_MAX_BYTES } from "../../src/rts/model-source.ts";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";

const dir = tempDir("flipped-weight-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[]) {
  const r = Bun.spawnSync(hidden(argv), { stdout: "pipe", stderr: "pipe", timeout: 60_000, cwd: dir, env: shippedEnv() });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), out: r.stdout.toString() + r.stderr.toString() };
}

test("an executable whose embedded model had a weight byte flipped (trailer intact) booted and ran a different model without a word: boot exits 65 naming the trailer's CRC32C and the file; verify (SHA-256) refuses it too", () => {
  const found = locateEmbeddedModel(exe);
  expect(found).not.toBeNull();
  expect(found!.size).toBeLessThanOrEqual(VERIFY_EMBEDDED_MAX_BYTES);
  const bad = join(dir, "vector-boot");
  copyFileSync(exe, bad);
  const b = readFileSync(bad);
  // The last bytes of the GGUF are tensor data (weights), past every header the loader validates.
  b[found!.offset + found!.size - 7]! ^= 0x10;
  writeFileSync(bad, b, { mode: 0o755 });
  const args = ["boot", "--set", "shutdown_after=1", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`];
  const boot = run([bad, ...args]);
  expect(boot.out).toContain("trailer.crc32c");
  expect(boot.out).toContain(`model bytes in ${bad} have CRC32C`);
  expect(parseStatusLine(boot.stdout)).toMatchObject({ reason: "boot failed", exit: 65 });
  expect(boot.code).toBe(65);
  expect(boot.out).not.toContain("first heartbeat");
  expect(run([exe, "verify", bad]).code).toBe(65);
  // The intact executable boots.
  const good = run([exe, ...args.map((a) => a.replace("/state", "/state-good").replace("/run", "/run-good"))]);
  expect(good.code).toBe(0);
  expect(good.out).toContain("first heartbeat");
}, 120_000);

test("an executable built before the trailer recorded a CRC32C (bytes 80..92 zero) with a weight byte flipped: the boot still refuses it (65), by its SHA-256", () => {
  const found = locateEmbeddedModel(exe)!;
  const bad = join(dir, "vector-boot-old-trailer");
  const b = readFileSync(exe);
  const trailer = encodeTrailer({ programSize: found.programSize, offset: found.offset, size: found.size, alignment: found.alignment, sha256: found.sha256, crc32c: null });
  b.set(trailer, b.length - TRAILER_SIZE);
  b[found.offset + found.size - 7]! ^= 0x10;
  writeFileSync(bad, b, { mode: 0o755 });
  expect(locateEmbeddedModel(bad)!.crc32c).toBeNull();
  const boot = run([bad, "boot", "--set", "shutdown_after=1", "--set", `state_dir=${join(dir, "state-old")}`, "--set", `run_dir=${join(dir, "run-old")}`]);
  expect(boot.out).toContain("trailer.sha256");
  expect(boot.out).toContain(`model bytes in ${bad} hash to`);
  expect(boot.code).toBe(65);
  expect(boot.out).not.toContain("first heartbeat");
}, 120_000);
