// A slot's tensor name is its bytes: a leading UTF-8 byte order mark was dropped by the decoder.
import { expect, test } from "bun:test";
import { SUB_SLOT_SIZE } from "../../src/evolution/layout.ts";
import { decodeSubmission, encodeSubmission } from "../../src/evolution/slot-codec.ts";
import { nameBytes } from "../../src/evolution/tensor-name.ts";

test("a tensor name sent as EF BB BF + \"pixel.1.bias\" was decoded as pixel.1.bias (the BOM dropped) and ACCEPTED, while the journal kept the 15 bytes, a name no tensor has: the name is its bytes, a tensor nobody has", () => {
  const slot = new Uint8Array(SUB_SLOT_SIZE);
  encodeSubmission(slot, { seq: 0n, tag: 1n, tensor: "\uFEFFpixel.1.bias", elementOffset: 0, values: Float32Array.of(0.5), confidence: 0.9 });
  const d = decodeSubmission(slot, 0n);
  expect("tensor" in d ? d.tensor : d).toBe("\uFEFFpixel.1.bias");
  expect(Array.from(nameBytes("\uFEFFpixel.1.bias").subarray(0, 3))).toEqual([0xef, 0xbb, 0xbf]);
});
