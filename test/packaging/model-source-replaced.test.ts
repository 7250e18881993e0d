// openModelSource of a model file renamed over while it is opened: the model mapped is the one whose header was read.
import { afterAll, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { setLogLevel } from "../../src/log.ts";
import { hex, sha256 } from "../../src/rts/checksum.ts";
import { modelSha256, openModelSource } from "../../src/rts/model-source.ts";
import { packRts } from "../../src/rts/package.ts";
import { fixture, prng, randomBytes, tempDir } from "./helpers.ts";

setLogLevel("error");
const t = tempDir("msrc-replaced");
afterAll(() => {
  t.cleanup();
  setLogLevel("info"); // bun test runs every file in one process
});

const modelA = fixture("ref-s1-a64.gguf");
const modelB = fixture("ref-s1-a32.gguf");
const bytesA = new Uint8Array(fs.readFileSync(modelA));

/** Packs A (a seed-layout package: no checksums to catch a mix) and B (a larger binary, another model: A's offsets lie inside it). */
function packages(tag: string): { a: string; b: string } {
  const binA = join(t.dir, `binA-${tag}`);
  const binB = join(t.dir, `binB-${tag}`);
  fs.writeFileSync(binA, randomBytes(3001, prng(5)));
  fs.writeFileSync(binB, randomBytes(200_000, prng(6)));
  const a = join(t.dir, `model-${tag}.rts`);
  const b = join(t.dir, `replacement-${tag}.rts`);
  packRts(binA, modelA, a, { seedLayout: true });
  packRts(binB, modelB, b, { seedLayout: true });
  return { a, b };
}

/**
 * Runs `fn` with B renamed over A right after the first read of A's 512-byte header (the deterministic
 * form of `mv new.rts model.rts` while the boot opens model.rts). Returns whether the rename happened.
 */
function replacedAfterHeaderRead(a: string, b: string, fn: () => void): boolean {
  const readSync = fs.readSync;
  let replaced = false;
  const spy = spyOn(fs, "readSync").mockImplementation(((fd: number, buf: Uint8Array, ...rest: unknown[]) => {
    const n = (readSync as (...x: unknown[]) => number)(fd, buf, ...rest);
    if (!replaced && n === 512 && fs.readlinkSync(`/proc/self/fd/${fd}`) === a) {
      fs.renameSync(b, a);
      replaced = true;
    }
    return n;
  }) as typeof fs.readSync);
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return replaced;
}

for (const inPlace of [false, true]) {
  test(`openModelSource (boot --model x.rts${inPlace ? " --check: mapped in place" : ": a sealed copy"}) read the magic, the header and the model through three opens: a package renamed over the path after its header was read had the other file's bytes copied at the first one's offsets (a mixed, wrong model, its SHA-256 the lineage's identity); now one descriptor: the model of the package whose header was read`, () => {
    const { a, b } = packages(inPlace ? "inplace" : "copy");
    let got: { bytes: Uint8Array; sha: string } | null = null;
    let error: unknown = null;
    const replaced = replacedAfterHeaderRead(a, b, () => {
      try {
        const src = openModelSource({ path: a, inPlace });
        got = { bytes: new Uint8Array(src.bytes), sha: modelSha256(src) };
        src.unmap();
      } catch (e) {
        error = e;
      }
    });
    expect(replaced).toBe(true);
    expect(error).toBeNull();
    const r = got as unknown as { bytes: Uint8Array; sha: string };
    expect(r.bytes.length).toBe(bytesA.length);
    expect(Buffer.from(r.bytes).equals(Buffer.from(bytesA)), "the mapped model is not the package's whose header was read").toBe(true);
    expect(r.sha).toBe(hex(sha256(bytesA)));
  }, 30_000);
}
