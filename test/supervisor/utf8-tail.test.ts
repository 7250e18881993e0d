// The unfinished UTF-8 character at the end of a pipe's output (handed over at a live re-exec).
import { expect, test } from "bun:test";
import { unfinishedUtf8 } from "../../src/supervisor/utf8-tail.ts";

const b = (...x: number[]) => Uint8Array.from(x);

test("the first bytes of a character not yet complete are what a streaming TextDecoder holds back; complete text, ASCII and invalid bytes leave none", () => {
  expect(unfinishedUtf8([], new TextEncoder().encode("héllo"))).toEqual([]);
  expect(unfinishedUtf8([], b(0x68, 0xc3))).toEqual([0xc3]);
  expect(unfinishedUtf8([], b(0x61, 0x62, 0xe2, 0x82))).toEqual([0xe2, 0x82]);
  expect(unfinishedUtf8([], b(0x61, 0xf0, 0x9f, 0x98))).toEqual([0xf0, 0x9f, 0x98]);
  expect(unfinishedUtf8([], b(0xf0, 0x9f, 0x98, 0x80))).toEqual([]);
  // A short chunk goes on from what was held.
  expect(unfinishedUtf8([0xf0], b(0x9f))).toEqual([0xf0, 0x9f]);
  expect(unfinishedUtf8([0xf0, 0x9f], b(0x98, 0x80))).toEqual([]);
  expect(unfinishedUtf8([], b(0x61, 0x80))).toEqual([]);
  expect(unfinishedUtf8([], b(0x61, 0xff))).toEqual([]);
  // What the decoder holds back, for every cut of a text.
  const text = new TextEncoder().encode("a€😀é z");
  for (let cut = 0; cut <= text.length; cut++) {
    const d = new TextDecoder();
    const first = d.decode(text.subarray(0, cut), { stream: true });
    const held = unfinishedUtf8([], text.subarray(0, cut));
    const again = new TextDecoder();
    again.decode(Uint8Array.from(held), { stream: true });
    expect(first + again.decode(text.subarray(cut))).toBe("a€😀é z");
  }
});
