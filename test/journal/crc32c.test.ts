// CRC32C against the RFC 3720 (iSCSI) appendix B.4 vectors and a bitwise reference.
import { describe, expect, test } from "bun:test";
import { crc32c, crc32cUpdate, crc32cUpdateReference } from "../../src/journal/crc32c.ts";
import { nativeCrc32c, nativeCrc32cHardware } from "../../src/sys/crc32c.ts";

function bitwise(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32c", () => {
  test("matches RFC 3720 B.4: 32 bytes of zeros", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
  test("matches RFC 3720 B.4: 32 bytes of 0xff", () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
  test("matches RFC 3720 B.4: 32 incrementing bytes", () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });
  test("matches RFC 3720 B.4: 32 decrementing bytes", () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });
  test("matches RFC 3720 B.4: iSCSI read command PDU", () => {
    const pdu = new Uint8Array(48);
    pdu.set([0x01, 0xc0], 0);
    pdu.set([0x14], 16);
    pdu.set([0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28], 20);
    pdu.set([0x02], 40);
    expect(crc32c(pdu)).toBe(0xd9963a56);
  });
  test("matches the check value of '123456789'", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });
  test("slicing-by-8 matches the bitwise reference at every length and alignment (seeded)", () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const buf = Uint8Array.from({ length: 300 }, rnd);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= buf.length; end += 7) {
        expect(crc32c(buf, start, end)).toBe(bitwise(buf.subarray(start, end)));
      }
    }
  });
  test("incremental update equals one pass when the input is split anywhere", () => {
    const buf = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
    const whole = crc32c(buf);
    for (let cut = 0; cut <= 100; cut++) {
      expect(crc32cUpdate(crc32cUpdate(0, buf, 0, cut), buf, cut)).toBe(whole);
    }
  });
});

describe("crc32c in the shim", () => {
  test("a native CRC that differs from the TypeScript reference is caught: both C paths agree with it at every length and alignment (seeded)", () => {
    const hw = nativeCrc32c(true);
    const table = nativeCrc32c(false);
    expect(hw).not.toBeNull();
    expect(table).not.toBeNull();
    let s = 777;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const buf = Uint8Array.from({ length: 4200 }, rnd);
    for (let start = 0; start < 9; start++) {
      for (const len of [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096]) {
        const end = start + len;
        const want = crc32cUpdateReference(0x1234567, buf, start, end);
        expect(hw!(0x1234567, buf, start, end) >>> 0).toBe(want);
        expect(table!(0x1234567, buf, start, end) >>> 0).toBe(want);
      }
    }
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(typeof nativeCrc32cHardware()).toBe("boolean");
  });
});

test("over 2 GiB in one call the shim's 32-bit end wrapped negative and the CRC came back unchanged (0): a checkpoint of a model over 2 GiB failed its checksum at every boot", () => {
  // 2 GiB + 8 KiB (about 10 s here: every page is touched for the first time), a few bytes set on either side of the 2 GiB mark.
  const b = new Uint8Array(2 ** 31 + 8192);
  b[0] = 1;
  b[2 ** 31 - 1] = 5;
  b[2 ** 31 + 100] = 3;
  b[b.length - 1] = 7;
  const whole = crc32c(b);
  // The same bytes in two pieces under 2 GiB each (what a checkpoint writer's per-tensor chunks give).
  const pieces = crc32cUpdate(crc32cUpdate(0, b.subarray(0, 1_500_000_000)), b.subarray(1_500_000_000));
  expect(whole).toBe(pieces);
  expect(whole).not.toBe(0);
}, 120_000);
