// RTS packages: pack -> unpack round trip, seed-layout files, checksums, and rejection of truncated or corrupt headers.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync, truncateSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { PackageError } from "../../src/errors.ts";
import { RTS_HEADER_SIZE, RTS_TENSOR_ALIGNMENT, encodeRtsHeader } from "../../src/rts/format.ts";
import { packRts, readRtsHeader, unpackRts, verifyRts } from "../../src/rts/package.ts";
import { fixture, prng, randomBytes, tempDir } from "./helpers.ts";

const t = tempDir("rts");
afterAll(() => t.cleanup());
const gguf = fixture("ref-s1-a4096.gguf");
const binary = join(t.dir, "program.bin");
writeFileSync(binary, randomBytes(12345, prng(7)));

function packed(name: string, seedLayout = false): string {
  const out = join(t.dir, name);
  packRts(binary, gguf, out, { seedLayout });
  return out;
}

function packageErrorOf(fn: () => unknown): PackageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PackageError) return err;
    throw new Error(`expected a PackageError, got ${String(err)}`);
  }
  throw new Error("expected a PackageError, nothing was thrown");
}

describe("pack / unpack", () => {
  test("unpack gives back byte-identical binary and GGUF", () => {
    const rts = packed("a.rts");
    const outB = join(t.dir, "a.bin");
    const outG = join(t.dir, "a.gguf");
    const report = unpackRts(rts, { binary: outB, gguf: outG });
    expect(Buffer.compare(readFileSync(outB), readFileSync(binary))).toBe(0);
    expect(Buffer.compare(readFileSync(outG), readFileSync(gguf))).toBe(0);
    expect(report.binary).toBe("ok");
    expect(report.tensor).toBe("ok");
  });

  test("writes the DESIGN §7 header big-endian with the tensor section on a 4096 boundary", () => {
    const rts = packed("b.rts");
    const b = readFileSync(rts);
    const v = new DataView(b.buffer, b.byteOffset);
    expect([...b.subarray(0, 4)]).toEqual([0x52, 0x54, 0x53, 0x01]);
    expect(v.getUint32(4)).toBe(1);
    expect(Number(v.getBigUint64(8))).toBe(RTS_HEADER_SIZE);
    expect(Number(v.getBigUint64(16))).toBe(12345);
    const tOff = Number(v.getBigUint64(24));
    expect(tOff % RTS_TENSOR_ALIGNMENT).toBe(0);
    expect(Number(v.getBigUint64(32))).toBe(readFileSync(gguf).length);
    expect(b.subarray(tOff, tOff + 4).toString()).toBe("GGUF");
  });

  test("reads a seed-layout file (tensor right after the binary, no checksums)", () => {
    const rts = packed("seed.rts", true);
    const h = readRtsHeader(rts);
    expect(h.checksums).toBeNull();
    expect(h.tensorOffset).toBe(RTS_HEADER_SIZE + 12345);
    const outG = join(t.dir, "seed.gguf");
    const report = unpackRts(rts, { gguf: outG });
    expect(report.tensor).toBe("unchecked");
    expect(Buffer.compare(readFileSync(outG), readFileSync(gguf))).toBe(0);
  });

  test("reads a hand-made seed file whose offsets are not 512 + size (readers trust only the header)", () => {
    const g = readFileSync(gguf);
    const bin = Buffer.from("seed-binary");
    const tOff = 8192;
    const file = Buffer.alloc(tOff + g.length + 100);
    file.set(encodeRtsHeader({ binaryOffset: 1024, binarySize: bin.length, tensorOffset: tOff, tensorSize: g.length, checksums: null }));
    file.set(bin, 1024);
    file.set(g, tOff);
    const p = join(t.dir, "gappy.rts");
    writeFileSync(p, file);
    const outB = join(t.dir, "gappy.bin");
    const outG = join(t.dir, "gappy.gguf");
    unpackRts(p, { binary: outB, gguf: outG });
    expect(readFileSync(outB).toString()).toBe("seed-binary");
    expect(Buffer.compare(readFileSync(outG), g)).toBe(0);
  });

  test("refuses to pack a tensor file that is not a GGUF", () => {
    expect(packageErrorOf(() => packRts(binary, binary, join(t.dir, "bad.rts"))).field).toBe("gguf");
  });
});

describe("verify", () => {
  test("catches a flipped byte in the binary section", () => {
    const rts = packed("flipb.rts");
    const b = readFileSync(rts);
    b[RTS_HEADER_SIZE + 777]! ^= 0x10;
    writeFileSync(rts, b);
    expect(packageErrorOf(() => verifyRts(rts)).field).toBe("binary.sha256");
  });

  test("catches a flipped byte in the tensor section", () => {
    const rts = packed("flipt.rts");
    const h = readRtsHeader(rts);
    const b = readFileSync(rts);
    b[h.tensorOffset + h.tensorSize - 1]! ^= 0x80;
    writeFileSync(rts, b);
    expect(packageErrorOf(() => verifyRts(rts)).field).toBe("tensor.sha256");
    expect(packageErrorOf(() => unpackRts(rts, { gguf: join(t.dir, "never.gguf") })).field).toBe("tensor.sha256");
  });
});

describe("rejects truncated and corrupt packages", () => {
  const original = readFileSync(packed("orig.rts"));
  const seedOriginal = readFileSync(packed("orig-seed.rts", true));

  test("50 random truncations, each with an error naming a header field", () => {
    const rnd = prng(20261123);
    for (let i = 0; i < 50; i++) {
      const src = i % 2 === 0 ? original : seedOriginal;
      const len = Math.floor(rnd() * (src.length - 1));
      const p = join(t.dir, `trunc-${i}.rts`);
      copyFileSync(i % 2 === 0 ? join(t.dir, "orig.rts") : join(t.dir, "orig-seed.rts"), p);
      truncateSync(p, len);
      const err = packageErrorOf(() => verifyRts(p));
      expect(err.field).toMatch(/^header\.(size|magic|binarySize|tensorSize|binaryOffset|tensorOffset)$/);
      expect(err.message).toContain(`${len} bytes`);
    }
  });

  test("50 random header corruptions (1 to 4 bytes) of packed files, each rejected with an error naming a field", () => {
    const rnd = prng(42);
    for (let i = 0; i < 50; i++) {
      const src = Buffer.from(original);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) src[Math.floor(rnd() * RTS_HEADER_SIZE)]! ^= 1 + Math.floor(rnd() * 255);
      const p = join(t.dir, `corrupt-${i}.rts`);
      writeFileSync(p, src);
      const err = packageErrorOf(() => verifyRts(p));
      expect(err.field).toMatch(/^header\.[a-zA-Z.0-9]+$/);
      expect(err.message).toContain(p);
    }
  });

  test("seed-layout files (no checksum): corrupt magic, version or reserved bytes are rejected, naming the field", () => {
    const rnd = prng(43);
    for (let i = 0; i < 30; i++) {
      const src = Buffer.from(seedOriginal);
      const r = rnd();
      const at = r < 0.2 ? Math.floor(rnd() * 4) : r < 0.4 ? 4 + Math.floor(rnd() * 4) : 40 + Math.floor(rnd() * (RTS_HEADER_SIZE - 40));
      src[at]! ^= 1 + Math.floor(rnd() * 255);
      const p = join(t.dir, `seed-corrupt-${i}.rts`);
      writeFileSync(p, src);
      const expected = at < 4 ? "header.magic" : at < 8 ? "header.version" : at >= 40 && at < 44 ? /^header\.(reserved|crc32)$/ : "header.reserved";
      const err = packageErrorOf(() => verifyRts(p));
      if (typeof expected === "string") expect(err.field).toBe(expected);
      else expect(err.field).toMatch(expected);
    }
  });

  test("rejects overlapping sections and offsets inside the header, naming the field", () => {
    const size = 20000;
    const cases: [Parameters<typeof encodeRtsHeader>[0], string][] = [
      [{ binaryOffset: 100, binarySize: 10, tensorOffset: 4096, tensorSize: 100, checksums: null }, "header.binaryOffset"],
      [{ binaryOffset: 512, binarySize: 10, tensorOffset: 0, tensorSize: 100, checksums: null }, "header.tensorOffset"],
      [{ binaryOffset: 512, binarySize: 5000, tensorOffset: 4096, tensorSize: 100, checksums: null }, "header.tensorOffset"],
      [{ binaryOffset: 512, binarySize: 10, tensorOffset: 4096, tensorSize: 0, checksums: null }, "header.tensorSize"],
      [{ binaryOffset: 512, binarySize: 2 ** 52, tensorOffset: 4096, tensorSize: 10, checksums: null }, "header.binarySize"],
      [{ binaryOffset: 512, binarySize: 10, tensorOffset: 4096, tensorSize: size, checksums: null }, "header.tensorSize"],
    ];
    for (const [fields, field] of cases) {
      const p = join(t.dir, "overlap.rts");
      const file = Buffer.alloc(size);
      file.set(encodeRtsHeader(fields));
      writeFileSync(p, file);
      expect(packageErrorOf(() => readRtsHeader(p)).field).toBe(field);
    }
  });
});
