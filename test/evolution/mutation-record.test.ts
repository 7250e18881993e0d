// Journal payloads of mutations: a drain's records encoded into one buffer must be byte for byte the records encoded one by one, and decode back.
import { expect, test } from "bun:test";
import { decodeMutationRecord, encodeMutationRecord, encodeMutationRecords } from "../../src/evolution/mutation-record.ts";
import type { Mutation } from "../../src/evolution/slot-codec.ts";

test("records encoded together (one buffer per drain) equal records encoded alone, across name changes, large offsets and 1..100 values", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const names = ["pixel.0.weight", "cortex.1.bias", "é.unicode", "pixel.0.weight"];
  const ms: Mutation[] = Array.from({ length: 200 }, (_, i) => ({
    tensor: names[i % names.length]!,
    // Past 2^32 too: the u64 is written as two u32 halves.
    elementOffset: i % 3 === 0 ? 2 ** 40 + i : Math.floor(rnd() * 1e6),
    confidence: 0.8 + rnd() / 5,
    values: Float32Array.from({ length: 1 + Math.floor(rnd() * 100) }, () => (rnd() - 0.5) * 1000),
  }));
  const together = encodeMutationRecords(ms);
  expect(together.length).toBe(ms.length);
  for (let i = 0; i < ms.length; i++) {
    expect([...together[i]!]).toEqual([...encodeMutationRecord(ms[i]!)]);
    const back = decodeMutationRecord(together[i]!);
    expect(back.tensor).toBe(ms[i]!.tensor);
    expect(back.elementOffset).toBe(ms[i]!.elementOffset);
    expect(back.confidence).toBe(ms[i]!.confidence);
    expect([...back.values]).toEqual([...ms[i]!.values]);
  }
});
