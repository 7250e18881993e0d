// The model appended to the executable: layout, trailer validation, and a real compiled Bun program mapping itself.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { GgufError, PackageError } from "../../src/errors.ts";
import { appendModel, EMBED_ALIGNMENT, encodeTrailer, locateEmbeddedModel, TRAILER_SIZE } from "../../src/rts/embed.ts";
import { crc32, sha256 } from "../../src/rts/checksum.ts";
import { crc32cUpdateReference } from "../../src/journal/crc32c.ts";
import { bun, fixture, prng, randomBytes, root, tempDir } from "./helpers.ts";

const t = tempDir("embed");
afterAll(() => t.cleanup());
const gguf = fixture("ref-s1-a32.gguf");

function makeEmbedded(name: string, exeSize: number): Promise<{ path: string; offset: number; size: number }> {
  const exe = join(t.dir, `${name}.bare`);
  writeFileSync(exe, randomBytes(exeSize, prng(exeSize)));
  const out = join(t.dir, name);
  return appendModel(exe, gguf, out).then((r) => ({ path: out, ...r }));
}

function expectPackageError(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PackageError);
    expect((err as PackageError).field).toBe(field);
    return;
  }
  throw new Error(`expected a PackageError on ${field}, nothing was thrown`);
}

describe("appendModel / locateEmbeddedModel", () => {
  test("places the GGUF at a 64 KiB boundary with the program and a trailer around it, bytes intact", async () => {
    for (const exeSize of [1, 4096, EMBED_ALIGNMENT, EMBED_ALIGNMENT + 3]) {
      const r = await makeEmbedded(`e${exeSize}`, exeSize);
      const all = readFileSync(r.path);
      const model = readFileSync(gguf);
      expect(r.offset % EMBED_ALIGNMENT).toBe(0);
      expect(r.offset).toBeGreaterThanOrEqual(exeSize);
      expect(r.offset - exeSize).toBeLessThan(EMBED_ALIGNMENT);
      expect(all.length).toBe(r.offset + model.length + TRAILER_SIZE);
      expect(Buffer.compare(all.subarray(r.offset, r.offset + model.length), model)).toBe(0);
      expect(all.subarray(exeSize, r.offset).every((x) => x === 0)).toBe(true);
      const found = locateEmbeddedModel(r.path, { verify: true })!;
      expect(found).not.toBeNull();
      expect(found.offset).toBe(r.offset);
      expect(found.size).toBe(model.length);
      expect(found.programSize).toBe(exeSize);
      expect(found.verified).toBe(true);
    }
  });

  test("returns null for an executable without a trailer (the plain bun binary)", () => {
    expect(locateEmbeddedModel(bun)).toBeNull();
    expect(locateEmbeddedModel("/proc/self/exe")).toBeNull();
  });

  test("verify catches a flipped byte in the payload", async () => {
    const r = await makeEmbedded("flip", 5000);
    const all = readFileSync(r.path);
    all[r.offset + 100]! ^= 0x01;
    writeFileSync(r.path, all);
    expect(locateEmbeddedModel(r.path)).not.toBeNull(); // the trailer alone is still consistent
    expectPackageError(() => locateEmbeddedModel(r.path, { verify: true }), "trailer.sha256");
  });

  test("the trailer records the payload's CRC32C for the boot's fast check (the boot hashed up to 64 MiB with SHA-256 at every start); a present-flag other than 0 or 1 is refused", async () => {
    const r = await makeEmbedded("crc", 5000);
    const all = readFileSync(r.path);
    const payload = all.subarray(r.offset, r.offset + r.size);
    expect(locateEmbeddedModel(r.path)!.crc32c).toBe(crc32cUpdateReference(0, payload));
    const body = all.subarray(0, all.length - TRAILER_SIZE);
    const trailer = encodeTrailer({ programSize: 5000, offset: r.offset, size: r.size, alignment: EMBED_ALIGNMENT, sha256: sha256(payload), crc32c: 7 });
    const v = new DataView(trailer.buffer);
    v.setUint32(84, 2, true);
    v.setUint32(92, crc32(trailer.subarray(0, 92)), true);
    writeFileSync(r.path, Buffer.concat([body, trailer]));
    expectPackageError(() => locateEmbeddedModel(r.path), "trailer.crc32cPresent");
    // An executable built before the field (bytes 80..92 zero) still reads, with no CRC32C.
    writeFileSync(r.path, Buffer.concat([body, encodeTrailer({ programSize: 5000, offset: r.offset, size: r.size, alignment: EMBED_ALIGNMENT, sha256: sha256(payload), crc32c: null })]));
    expect(locateEmbeddedModel(r.path)!.crc32c).toBeNull();
  });

  test("rejects a trailer with a flipped byte (CRC-32)", async () => {
    const r = await makeEmbedded("trailerflip", 5000);
    const all = readFileSync(r.path);
    all[all.length - TRAILER_SIZE + 25]! ^= 0x40;
    writeFileSync(r.path, all);
    expectPackageError(() => locateEmbeddedModel(r.path), "trailer.crc32");
  });

  test("rejects a well-checksummed trailer whose ranges do not fit the file", async () => {
    const r = await makeEmbedded("ranges", 5000);
    const all = readFileSync(r.path);
    const body = all.subarray(0, all.length - TRAILER_SIZE);
    const sha = sha256(all.subarray(r.offset, r.offset + r.size));
    const cases: [Parameters<typeof encodeTrailer>[0], string][] = [
      [{ programSize: 5000, offset: r.offset + 4096, size: r.size, alignment: EMBED_ALIGNMENT, sha256: sha, crc32c: null }, "trailer.offset"],
      [{ programSize: 5000, offset: r.offset, size: r.size - 1, alignment: EMBED_ALIGNMENT, sha256: sha, crc32c: null }, "trailer.payloadSize"],
      [{ programSize: 5000, offset: r.offset, size: r.size + 10 ** 9, alignment: EMBED_ALIGNMENT, sha256: sha, crc32c: null }, "trailer.payloadSize"],
      [{ programSize: 5000, offset: r.offset, size: r.size, alignment: 1000, sha256: sha, crc32c: null }, "trailer.alignment"],
      [{ programSize: r.offset + 1, offset: r.offset, size: r.size, alignment: EMBED_ALIGNMENT, sha256: sha, crc32c: null }, "trailer.programSize"],
      [{ programSize: 5000, offset: 2 ** 40, size: r.size, alignment: EMBED_ALIGNMENT, sha256: sha, crc32c: null }, "trailer.offset"],
    ];
    for (const [fields, field] of cases) {
      writeFileSync(r.path, Buffer.concat([body, encodeTrailer(fields)]));
      expectPackageError(() => locateEmbeddedModel(r.path), field);
    }
  });

  test("refuses to append a second model to an executable that already has one", async () => {
    const r = await makeEmbedded("twice", 100);
    await expect(appendModel(r.path, gguf, join(t.dir, "twice2"))).rejects.toBeInstanceOf(PackageError);
  });

  test("a trailer whose reserved bytes 88..92 are not zero (a later format's field, a crafted trailer with its CRC-32 fixed) was read as this version's", async () => {
    const r = await makeEmbedded("reserved", 5000);
    const all = readFileSync(r.path);
    const trailer = all.subarray(all.length - TRAILER_SIZE);
    const v = new DataView(trailer.buffer, trailer.byteOffset, TRAILER_SIZE);
    v.setUint32(88, 7, true);
    v.setUint32(92, crc32(trailer.subarray(0, 92)), true);
    writeFileSync(r.path, all);
    expectPackageError(() => locateEmbeddedModel(r.path), "trailer.reserved");
  });

  test("a trailer recording no CRC32C (byte 84 is 0) whose bytes 80..84 were not zero was accepted: they are zero then", async () => {
    const r = await makeEmbedded("crc-absent", 5000);
    const all = readFileSync(r.path);
    const trailer = all.subarray(all.length - TRAILER_SIZE);
    const v = new DataView(trailer.buffer, trailer.byteOffset, TRAILER_SIZE);
    v.setUint32(80, 0xdeadbeef, true);
    v.setUint32(84, 0, true);
    v.setUint32(92, crc32(trailer.subarray(0, 92)), true);
    writeFileSync(r.path, all);
    expectPackageError(() => locateEmbeddedModel(r.path), "trailer.crc32c");
  });

  test("a GGUF cut short after its magic was embedded, exit 0, and only the boot refused it (exit 2): appendModel refuses it as pack does, nothing written", async () => {
    const exe = join(t.dir, "cut.bare");
    writeFileSync(exe, randomBytes(3000, prng(3000)));
    const cut = join(t.dir, "cut.gguf");
    const whole = readFileSync(gguf);
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const out = join(t.dir, "cut-out");
    const err = await appendModel(exe, cut, out).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GgufError);
    expect(String((err as Error).message)).toContain("not a well-formed GGUF, nothing embedded");
    expect(existsSync(out)).toBe(false);
  });

  test("refuses a payload that is not a GGUF", async () => {
    const exe = join(t.dir, "notgguf.bare");
    writeFileSync(exe, "x");
    await expect(appendModel(exe, exe, join(t.dir, "notgguf"))).rejects.toBeInstanceOf(PackageError);
  });

  test("appending in place (out = the bare program) left the GGUF alone and the program gone, and a GGUF refused afterwards left an existing output empty: both refused, the files intact", async () => {
    const exe = join(t.dir, "inplace.bare");
    const program = randomBytes(9000, prng(9000));
    writeFileSync(exe, program);
    await expect(appendModel(exe, gguf, exe)).rejects.toThrow("writing it would replace an input");
    expect(Buffer.compare(readFileSync(exe), program)).toBe(0);
    const out = join(t.dir, "kept");
    writeFileSync(out, "an earlier build");
    await expect(appendModel(exe, exe, out)).rejects.toBeInstanceOf(PackageError);
    expect(readFileSync(out, "utf8")).toBe("an earlier build");
  });

  test(
    "a compiled Bun executable still runs with the model appended and maps it from /proc/self/exe",
    async () => {
      const bare = join(t.dir, "selfmap.bare");
      const build = Bun.spawnSync([bun, "build", "--compile", join(import.meta.dir, "fixtures/self-model.ts"), "--outfile", bare], {
        cwd: root,
        stderr: "pipe",
        stdout: "pipe",
      });
      expect(build.exitCode, build.stderr.toString()).toBe(0);
      const exe = join(t.dir, "selfmap");
      const r = await appendModel(bare, gguf, exe);
      Bun.spawnSync(["chmod", "755", exe]);
      const run = Bun.spawnSync([exe], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
      expect(run.exitCode, run.stderr.toString()).toBe(0);
      const out = JSON.parse(run.stdout.toString()) as Record<string, unknown>;
      expect(out).toEqual({
        origin: "embedded",
        offset: r.offset,
        size: statSync(gguf).size,
        sha256: Buffer.from(sha256(readFileSync(gguf))).toString("hex"),
        magic: "GGUF",
      });
    },
    120_000,
  );
});
