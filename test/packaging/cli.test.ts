// The packaging subcommands of the shipped executable (checkout hidden): pack, unpack, verify, rts-inspect (exit codes, messages, --help).
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped, tempDir } from "../harness/artifact.ts";
import { fixture, prng, randomBytes } from "./helpers.ts";
import { encodeRtsHeader } from "../../src/rts/format.ts";
import { sha256 } from "../../src/rts/checksum.ts";

const t = { dir: tempDir("vb-cli-") };
const gguf = fixture("ref-s1-a32.gguf");
const binary = join(t.dir, "prog");
writeFileSync(binary, randomBytes(7000, prng(11)));

/** `vector-boot COMMAND ARGS`, the shipped executable. */
function run(command: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  return runShipped([command, ...args]);
}

describe("packaging CLI", () => {
  test("pack -> verify -> unpack gives back the inputs byte for byte", () => {
    const rts = join(t.dir, "a.rts");
    expect(run("pack", "--binary", binary, "--gguf", gguf, "-o", rts).code).toBe(0);
    const v = run("verify", rts);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("checksums ok");
    expect(v.stdout).toMatch(/GGUF ok \(\d+ tensors\)/);
    const u = run("unpack", rts, "-C", t.dir);
    expect(u.code).toBe(0);
    expect(Buffer.compare(readFileSync(join(t.dir, "a.bin")), readFileSync(binary))).toBe(0);
    expect(Buffer.compare(readFileSync(join(t.dir, "a.gguf")), readFileSync(gguf))).toBe(0);
  });

  test("verify exits 65 naming the section when a tensor byte is flipped", () => {
    const rts = join(t.dir, "b.rts");
    run("pack", "--binary", binary, "--gguf", gguf, "-o", rts);
    const b = readFileSync(rts);
    b[b.length - 5]! ^= 1;
    writeFileSync(rts, b);
    const v = run("verify", rts);
    expect(v.code).toBe(65);
    expect(v.stderr).toContain("tensor.sha256");
  });

  test("verify exits 2 when the packed model is not a well-formed GGUF (checksums intact)", () => {
    const bad = join(t.dir, "bad.gguf");
    const g = readFileSync(gguf);
    writeFileSync(bad, Buffer.concat([g.subarray(0, 8), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), g.subarray(16)]));
    const rts = join(t.dir, "badgguf.rts");
    // Made by hand: pack refuses such a GGUF (test/packaging/pack-malformed-gguf.test.ts); a seed's writer or another tool may not.
    const bin = readFileSync(binary);
    const g2 = readFileSync(bad);
    const header = encodeRtsHeader({ binaryOffset: 512, binarySize: bin.length, tensorOffset: 512 + bin.length, tensorSize: g2.length, checksums: { binarySha256: sha256(bin), tensorSha256: sha256(g2) } });
    writeFileSync(rts, Buffer.concat([header, bin, g2]));
    const v = run("verify", rts);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("tensor_count");
  });

  test("rts-inspect prints the header fields, and --json parses", () => {
    const rts = join(t.dir, "c.rts");
    run("pack", "--binary", binary, "--gguf", gguf, "-o", rts);
    const i = run("rts-inspect", rts);
    expect(i.code).toBe(0);
    expect(i.stdout).toContain("RTS package");
    expect(i.stdout).toContain("tensorOffset: 8192");
    const j = JSON.parse(run("rts-inspect", rts, "--json").stdout);
    expect(j.kind).toBe("rts");
    expect(j.fields.binarySize).toBe(7000);
  });

  test("a truncated package exits 65 with the field in the message", () => {
    const rts = join(t.dir, "d.rts");
    run("pack", "--binary", binary, "--gguf", gguf, "-o", rts);
    writeFileSync(rts, readFileSync(rts).subarray(0, 9000));
    const v = run("rts-inspect", rts);
    expect(v.code).toBe(65);
    expect(v.stderr).toContain("header.tensorSize");
  });

  test("missing or unknown options exit 64 with a usage message; --help exits 0", () => {
    const m = run("pack", "--binary", binary);
    expect(m.code).toBe(64);
    expect(m.stderr).toContain("--gguf");
    expect(run("unpack", "x.rts", "--bogus").code).toBe(64);
    for (const mod of ["pack", "unpack", "verify", "rts-inspect"]) {
      const h = run(mod, "--help");
      expect(h.code).toBe(0);
      expect(h.stdout).toStartWith(`Usage: vector-boot ${mod} `);
    }
  });
});
