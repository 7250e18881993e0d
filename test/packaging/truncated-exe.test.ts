// An executable that lost the end of its file (a copy cut short): boot, verify and inspect say it is truncated, not that it has no model.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";
import { PackageError } from "../../src/errors.ts";
import { appendModel, locateEmbeddedModel, TRAILER_SIZE } from "../../src/rts/embed.ts";
import { fixture } from "./helpers.ts";

const dir = tempDir("cut-exe-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `file` (a copy of the shipped executable) with `args`, the checkout hidden. */
function run(file: string, args: string[]) {
  const r = Bun.spawnSync(hidden([file, ...args]), { stdout: "pipe", stderr: "pipe", timeout: 60_000, cwd: dir, env: shippedEnv() });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

let boots = 0;
const bootArgs = () => ["boot", "--set", "pixel_test=false", "--set", "shutdown_after=1", "--set", `state_dir=${join(dir, `state${++boots}`)}`, "--set", `run_dir=${join(dir, `run${boots}`)}`];

test("an executable cut short by one byte (or by its trailer, 1 KiB, half its model) said 'no model embedded ... build with scripts/build.ts or pass --model': boot, verify and inspect now say it is truncated, with its size", () => {
  const full = statSync(exe).size;
  const found = locateEmbeddedModel(exe)!;
  expect(found).not.toBeNull(); // the shipped image carries its model
  const cut = join(dir, "vector-boot");
  copyFileSync(exe, cut);
  // Cut further and further: the last byte, most of the trailer, all of it, into the model, half the model.
  for (const lost of [1, 50, TRAILER_SIZE, 1024, TRAILER_SIZE + Math.floor(found.size / 2)]) {
    truncateSync(cut, full - lost);
    const size = full - lost;
    const says = lost < TRAILER_SIZE - 8 ? `is truncated or damaged (${size} bytes, ${full} expected)` : `is truncated or damaged (${size} bytes)`;
    const boot = run(cut, bootArgs());
    // As for a damaged trailer: the boot fails with the trailer's PackageError (65), as verify and inspect do.
    expect({ lost, code: boot.code }).toEqual({ lost, code: 65 });
    expect(boot.out).toContain(says);
    expect(boot.out).not.toContain("no model embedded");
    for (const cmd of ["verify", "inspect"]) {
      const r = run(exe, [cmd, cut]);
      expect({ lost, cmd, code: r.code }).toEqual({ lost, cmd, code: 65 });
      expect(r.out).toContain(says);
    }
  }
}, 240_000);

test("an executable cut inside its ELF image, its zero padding or its GGUF magic (fewer than its 4 bytes left after the program) said 'no model embedded ... build with scripts/build.ts': boot, verify and inspect say it is truncated, with its size", () => {
  const found = locateEmbeddedModel(exe)!;
  const cut = join(dir, "vector-boot-short");
  const src = readFileSync(exe);
  expect(found.offset - found.programSize).toBeGreaterThan(0); // the program's end is not 64 KiB-aligned: there is padding
  // Inside the section header table, one byte of padding, all of it, then "G" and "GGU" of the magic.
  for (const size of [found.programSize - 1000, found.programSize + 1, found.offset, found.offset + 1, found.offset + 3]) {
    writeFileSync(cut, src.subarray(0, size), { mode: 0o755 });
    const says = `is truncated or damaged (${size} bytes, at least ${size < found.programSize ? found.programSize : found.offset + 24 + TRAILER_SIZE} expected)`;
    const boot = run(cut, bootArgs());
    expect({ size, code: boot.code }).toEqual({ size, code: 65 });
    expect(boot.out).toContain(says);
    expect(boot.out).not.toContain("no model embedded");
    for (const cmd of ["verify", "inspect"]) {
      const r = run(exe, [cmd, cut]);
      expect({ size, cmd, code: r.code }).toEqual({ size, cmd, code: 65 });
      expect(r.out).toContain(says);
    }
  }
  // Bun's own executable (an ELF that ends where its image does) carries no model and says so.
  expect(locateEmbeddedModel(process.execPath)).toBeNull();
}, 240_000);

test("an executable built without a model (the bare program) keeps saying 'no model embedded'", () => {
  const found = locateEmbeddedModel(exe)!;
  const bare = join(dir, "vector-boot-bare");
  writeFileSync(bare, readFileSync(exe).subarray(0, found.programSize), { mode: 0o755 });
  const boot = run(bare, bootArgs());
  expect(boot.code).toBe(1);
  expect(boot.out).toContain(`no model embedded in ${bare}`);
  expect(boot.out).not.toContain("is truncated");
  const verify = run(exe, ["verify", bare]);
  expect(verify.code).toBe(65);
  expect(verify.out).not.toContain("is truncated");
}, 120_000);

test("a non-ELF program with a model whose trailer lost its last bytes read as 'no trailer' (null): a PackageError giving the expected size", async () => {
  const prog = join(dir, "prog.bin");
  writeFileSync(prog, new Uint8Array(5000).fill(7));
  const out = join(dir, "prog");
  await appendModel(prog, fixture("ref-s1-a32.gguf"), out);
  const full = statSync(out).size;
  for (const lost of [1, 88]) {
    truncateSync(out, full - lost);
    expect(() => locateEmbeddedModel(out)).toThrow(PackageError);
    expect(() => locateEmbeddedModel(out)).toThrow(`(${full - lost} bytes, ${full} expected)`);
  }
  truncateSync(out, full - 89); // the trailer's magic is gone too; nothing else marks a non-ELF program's model
  expect(locateEmbeddedModel(out)).toBeNull();
});
