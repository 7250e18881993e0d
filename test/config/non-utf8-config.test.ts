// A config file that is not UTF-8 is refused naming the first bad byte, not read with U+FFFD in place of it.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readConfigFile } from "../../src/config/load.ts";
import { runShipped, tempDir } from "../harness/artifact.ts";

test("a config file in Latin-1 (\"caf\\xe9\" in a service's argv) said 'config ok' and the service was given \"caf\\uFFFD\", another argument than the one written; it is refused (exit 78) naming the byte", () => {
  const dir = tempDir();
  const p = join(dir, "latin1.json");
  // Offset 49: the 0xE9 after "caf".
  writeFileSync(p, Buffer.concat([Buffer.from('{"services":[{"name":"a","argv":["/bin/echo","caf'), Buffer.from([0xe9]), Buffer.from('"]}]}')]));
  const r = runShipped(["boot", "--check", "--config", p]);
  expect(r.code).toBe(78);
  expect(r.stderr).toContain(`${p}: not UTF-8: byte 0xe9 at offset 49`);
  expect(r.stdout).not.toContain("config ok");
  // A truncated sequence at the end, and an encoded surrogate (CESU-8), are not UTF-8 either.
  for (const [bytes, at] of [
    [Buffer.concat([Buffer.from('{"hostname":"vb"} '), Buffer.from([0xc3])]), 18],
    [Buffer.concat([Buffer.from('{"hostname":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), 13],
  ] as const) {
    writeFileSync(p, bytes);
    expect(() => readConfigFile(p)).toThrow(`not UTF-8: byte 0x${bytes[at]!.toString(16)} at offset ${at}`);
  }
  // UTF-8 (with or without a byte order mark) is read as before.
  writeFileSync(p, '\uFEFF{"services":[{"name":"a","argv":["/bin/echo","café ✓ 𝄞"]}]}');
  expect(readConfigFile(p).services[0]!.argv[1]).toBe("café ✓ 𝄞");
});
