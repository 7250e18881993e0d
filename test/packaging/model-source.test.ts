// openModelSource: plain GGUF, RTS tensor section (aligned and seed layout), embedded model, and the unbuilt fallback.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GgufError, PackageError, RuntimeInitError } from "../../src/errors.ts";
import { setLogLevel } from "../../src/log.ts";
import { appendModel } from "../../src/rts/embed.ts";
import { openModelSource } from "../../src/rts/model-source.ts";
import { packRts, readRtsHeader } from "../../src/rts/package.ts";
import { fixture, prng, randomBytes, tempDir } from "./helpers.ts";

setLogLevel("error");
const t = tempDir("msrc");
afterAll(() => {
  t.cleanup();
  // bun test runs every file in one process: give the next files the default level back.
  setLogLevel("info");
});
const gguf = fixture("ref-s1-a64.gguf");
const model = readFileSync(gguf);
const binary = join(t.dir, "prog");
writeFileSync(binary, randomBytes(3001, prng(3)));

function expectSameBytes(bytes: Uint8Array): void {
  expect(bytes.length).toBe(model.length);
  expect(Buffer.compare(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), model)).toBe(0);
}

describe("openModelSource", () => {
  test("maps a plain .gguf", () => {
    const m = openModelSource({ path: gguf });
    expect(m.origin).toBe("gguf");
    expect(m.offset).toBe(0);
    expectSameBytes(m.bytes);
    m.unmap();
  });

  test("maps the tensor section of a packed .rts (detected by magic, whatever the name)", () => {
    const p = join(t.dir, "model.bin");
    packRts(binary, gguf, p);
    const m = openModelSource({ path: p, verify: true });
    expect(m.origin).toBe("rts");
    expect(m.offset % 4096).toBe(0);
    expectSameBytes(m.bytes);
    m.unmap();
  });

  test("maps the unaligned tensor section of a seed-layout .rts", () => {
    const p = join(t.dir, "seed.rts");
    packRts(binary, gguf, p, { seedLayout: true });
    const m = openModelSource({ path: p });
    expect(m.offset).toBe(readRtsHeader(p).tensorOffset);
    expect(m.offset % 4096).not.toBe(0);
    expectSameBytes(m.bytes);
    m.unmap();
  });

  test("verify rejects an RTS whose tensor section was altered", () => {
    const p = join(t.dir, "alt.rts");
    packRts(binary, gguf, p);
    const b = readFileSync(p);
    b[readRtsHeader(p).tensorOffset + 200]! ^= 4;
    writeFileSync(p, b);
    expect(() => openModelSource({ path: p, verify: true })).toThrow(PackageError);
  });

  test("maps the model embedded in an executable", async () => {
    const exe = join(t.dir, "exe");
    const r = await appendModel(binary, gguf, exe);
    const m = openModelSource({ exePath: exe, verify: true });
    expect(m.origin).toBe("embedded");
    expect(m.offset).toBe(r.offset);
    expectSameBytes(m.bytes);
    m.unmap();
  });

  test("falls back to the given file when the executable has no model, and fails clearly without one", () => {
    const m = openModelSource({ exePath: binary, fallbackPath: gguf });
    expect(m.origin).toBe("gguf");
    expectSameBytes(m.bytes);
    m.unmap();
    expect(() => openModelSource({ exePath: binary, fallbackPath: null })).toThrow(RuntimeInitError);
    expect(() => openModelSource({ exePath: binary, fallbackPath: join(t.dir, "missing.gguf") })).toThrow(/build with scripts\/build.ts or pass --model/);
  });

  test("refuses a file that is neither RTS nor GGUF (a malformed GGUF: its magic), and a missing file", () => {
    expect(() => openModelSource({ path: binary })).toThrow(GgufError);
    expect(() => openModelSource({ path: binary })).toThrow("neither an RTS package nor a GGUF file");
    expect(() => openModelSource({ path: join(t.dir, "nope") })).toThrow(RuntimeInitError);
  });
});
