// What a model file that is not what it should be gets from each command: one exit code for one fault, a message that says what is there.
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { PackageError } from "../../src/errors.ts";
import { readGguf } from "../../src/gguf/reader.ts";
import { sha256OfRange } from "../../src/rts/checksum.ts";
import { root, tempDir } from "./helpers.ts";

const t = tempDir("bad-model");
afterAll(() => t.cleanup());
const run = (args: string[]) => runShipped(args, { timeoutMs: 60_000, env: { TMPDIR: t.dir } });

test("an empty or 2-byte .gguf got four exit codes from four commands (inspect 2, pixels 65, boot 1): a malformed GGUF is 2 everywhere, naming the magic", () => {
  const empty = join(t.dir, "empty.gguf");
  const short = join(t.dir, "gg.gguf");
  writeFileSync(empty, "");
  writeFileSync(short, "GG");
  for (const file of [empty, short]) {
    for (const args of [["inspect", file], ["pixels", "--model", file, "1,2,3"], ["boot", "--model", file, "--set", "pixel_test=false", "--set", "shutdown_after=1", "--set", `state_dir=${join(t.dir, "state")}`, "--set", `run_dir=${join(t.dir, "run")}`]]) {
      const r = run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("GGUF magic at byte 0");
    }
  }
}, 120_000);

test("boot ran its pixel self-test with the seed's four pixels whatever the model took: a valid model of max_pixels 3 was refused (exit 2, 'too many pixels')", () => {
  const model = join(t.dir, "three.gguf");
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", model, "--max-pixels", "3"], { stderr: "pipe", timeout: 60_000 });
  expect(g.exitCode).toBe(0);
  const r = run(["boot", "--model", model, "--set", "shutdown_after=1", "--set", `state_dir=${join(t.dir, "state3")}`, "--set", `run_dir=${join(t.dir, "run3")}`]);
  expect(r.stderr).toContain("phase pixel-test result=ok pixels=3");
  expect(r.code).toBe(0);
}, 120_000);

test("a GGUF whose version field holds 65536 (00 00 01 00) was reported as 'unsupported GGUF version 256', the byte-swapped reading", () => {
  const b = new Uint8Array(24);
  b.set([0x47, 0x47, 0x55, 0x46, 0x00, 0x00, 0x01, 0x00]);
  expect(() => readGguf(b)).toThrow("unsupported GGUF version 65536 (256 read big-endian)");
});

test("a package truncated while its checksum was computed failed with a RangeError (exit 70, 'a bug'): it is a PackageError (65)", () => {
  const f = join(t.dir, "short.bin");
  writeFileSync(f, new Uint8Array(1000));
  const fd = openSync(f, "r");
  try {
    expect(() => sha256OfRange(fd, 0, 5000)).toThrow(PackageError);
    expect(() => sha256OfRange(fd, 0, 5000)).toThrow("short read at byte 1000");
  } finally {
    closeSync(fd);
  }
});
