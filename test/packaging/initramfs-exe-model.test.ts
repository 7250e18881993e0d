// initramfs inputs the user names wrongly: an --exe whose appended model is damaged, a --modules-dir that is no directory, a missing --file.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32cUpdate } from "../../src/journal/crc32c.ts";
import { sha256 } from "../../src/rts/checksum.ts";
import { appendModel, encodeTrailer, locateEmbeddedModel, TRAILER_SIZE } from "../../src/rts/embed.ts";
import { runShipped } from "../harness/artifact.ts";
import { fixture, tempDir } from "./helpers.ts";

const t = tempDir("initramfs-exe-model");
afterAll(() => t.cleanup());
const gguf = fixture("ref-s1-a32.gguf");
// A small ELF stands in for the executable: what matters is the model appended to it.
const bare = join(t.dir, "prog.bare");
copyFileSync("/bin/true", bare);
const out = join(t.dir, "img.cpio");
const run = (args: string[], to = out) => runShipped(["initramfs", "--compress", "none", "-o", to, ...args], { timeoutMs: 60_000 });

async function withModel(name: string, damage: (path: string) => void): Promise<string> {
  const p = join(t.dir, name);
  await appendModel(bare, gguf, p);
  damage(p);
  return p;
}

/** An executable whose trailer is consistent but whose payload is `payload` (appendModel refuses a malformed GGUF itself). */
async function withPayload(name: string, payload: Uint8Array): Promise<string> {
  const p = await withModel(name, () => {});
  const m = locateEmbeddedModel(p)!;
  const trailer = encodeTrailer({ programSize: m.programSize, offset: m.offset, size: payload.length, alignment: m.alignment, sha256: sha256(payload), crc32c: crc32cUpdate(0, payload) });
  writeFileSync(p, Buffer.concat([readFileSync(p).subarray(0, m.offset), payload, trailer]));
  return p;
}

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at]! ^= 0xff;
  writeFileSync(path, b);
}

test("an executable whose appended model was damaged (appended twice, trailer or payload overwritten, not a GGUF) made an image that built with exit 0 and could not boot: refused (65) naming the trailer field, no image written", async () => {
  const modelSize = statSync(gguf).size;
  const notGguf = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(60, 0xee)]);
  const cases: Array<[string, string]> = [
    [await withModel("doubled", (p) => appendFileSync(p, readFileSync(p).subarray(-(modelSize + TRAILER_SIZE)))), "trailer.payloadSize"],
    [await withModel("trailer-overwritten", (p) => flipByte(p, statSync(p).size - TRAILER_SIZE + 20)), "trailer.crc32"],
    [await withModel("payload-overwritten", (p) => flipByte(p, statSync(p).size - TRAILER_SIZE - 100)), "trailer.sha256"],
    [await withPayload("bad-gguf", notGguf), "GGUF"],
  ];
  for (const [exe, field] of cases) {
    const r = run(["--exe", exe]);
    expect({ exe, code: r.code }).toEqual({ exe, code: 65 });
    expect(r.stderr).toContain(`initramfs.exe: ${exe} carries a damaged embedded model`);
    expect(r.stderr).toContain(field);
    expect(existsSync(out)).toBe(false);
  }
  // Intact: the image is written. No model at all is only a warning (a config "model" may name a file in the image).
  const good = await withModel("intact", () => {});
  const ok = run(["--exe", good]);
  expect(ok.code, ok.stderr).toBe(0);
  expect(ok.stderr).not.toContain("warning");
  expect(ok.stderr).not.toContain("model mapped");
  const none = run(["--exe", bare]);
  expect(none.code, none.stderr).toBe(0);
  expect(none.stderr).toContain(`initramfs: warning: ${bare} carries no embedded model`);
  const cfg = join(t.dir, "model.json");
  writeFileSync(cfg, JSON.stringify({ model: "/etc/vector-boot/model.gguf" }));
  const named = run(["--exe", bare, "--config", cfg, "--file", `${gguf}:/etc/vector-boot/model.gguf`]);
  expect(named.code, named.stderr).toBe(0);
  expect(named.stderr).not.toContain("carries no embedded model");
}, 120_000);

test("--modules-dir naming a file, or a modules.dep that is a directory, exited 70 ('internal error') with a raw ENOTDIR/EISDIR: refused (65) naming the path", () => {
  const img = join(t.dir, "modules-img.cpio");
  const file = join(t.dir, "not-a-dir");
  writeFileSync(file, "x");
  const r = run(["--modules-dir", file, "--module", "ext4"], img);
  expect(r.code).toBe(65);
  expect(r.stderr).toContain(`${file} is not a directory`);
  const mods = join(t.dir, "6.1.0-test");
  Bun.spawnSync(["mkdir", "-p", join(mods, "modules.dep")]);
  const d = run(["--modules-dir", mods, "--module", "ext4"], img);
  expect(d.code).toBe(65);
  expect(d.stderr).toContain(`cannot read ${join(mods, "modules.dep")}: EISDIR`);
  expect(existsSync(img)).toBe(false);
}, 60_000);

test("a mistyped --file SRC (or --runtime-lib) was answered 'run scripts/build.ts first?' (meant for the source tree's dist/ defaults)", () => {
  const missing = join(t.dir, "notes.txt");
  const r = run(["--file", `${missing}:/etc/notes`], join(t.dir, "file-img.cpio"));
  expect(r.code).toBe(65);
  expect(r.stderr).toContain(`initramfs.files: cannot read ${missing}: ENOENT`);
  expect(r.stderr).not.toContain("scripts/build.ts");
}, 60_000);
