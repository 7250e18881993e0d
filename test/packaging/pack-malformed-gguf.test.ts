// pack given a GGUF that is cut short or malformed past its magic: refused before anything is written, as verify and boot would refuse it.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { fixture, prng, randomBytes, tempDir } from "./helpers.ts";

const t = tempDir("pack-gguf");
afterAll(() => t.cleanup());
const binary = join(t.dir, "prog");
writeFileSync(binary, randomBytes(6000, prng(17)));
const model = readFileSync(fixture("ref-s1-a32.gguf"));

test("pack of a GGUF cut short (a download that stopped: the magic intact) wrote the package and exited 0, and only verify or the boot found it malformed: refused with exit 2 naming the file, the field and the byte offset, nothing written", () => {
  const cut = join(t.dir, "cut.gguf");
  writeFileSync(cut, model.subarray(0, Math.floor(model.length / 2)));
  const bad = join(t.dir, "bad-count.gguf");
  const b = Buffer.from(model);
  b.writeBigUInt64LE(0x7fff_ffff_ffff_ffffn, 8); // tensor_count
  writeFileSync(bad, b);
  for (const [gguf, field] of [[cut, "GGUF tensor"], [bad, "GGUF tensor_count at byte 8"]] as const) {
    const out = join(t.dir, "out.rts");
    const r = runShipped(["pack", "--binary", binary, "--gguf", gguf, "-o", out]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(field);
    expect(r.stderr).toContain(gguf);
    expect(readdirSync(t.dir).filter((n) => n.startsWith("out.rts"))).toEqual([]);
  }
  // The intact model still packs.
  const good = join(t.dir, "good.gguf");
  writeFileSync(good, model);
  expect(runShipped(["pack", "--binary", binary, "--gguf", good, "-o", join(t.dir, "good.rts")]).code).toBe(0);
}, 60_000);
