// Metadata arrays cost about their bytes: bool and string items (one JS value each) are capped, big-endian arrays swap in one pass.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { readGguf, writeGguf, type GgufValue } from "../../src/gguf/index.ts";
import { expectGgufError } from "./helpers.ts";

/** A one-key file from the writer: key "a", an array of `n` zero items of `itemType` (bools are written as u8 then retyped). */
function oneArray(itemType: 0 | 2 | 7 | 8, n: number): Uint8Array {
  const value: GgufValue = itemType === 8 ? { type: 9, itemType: 8, value: new Array<string>(n).fill("") }
    : itemType === 2 ? { type: 9, itemType: 2, value: new Uint16Array(n) }
    : { type: 9, itemType: 0, value: new Uint8Array(n) };
  const file = writeGguf({ metadata: [["a", value]], tensors: [] });
  if (itemType === 7) file[ITEM_TYPE_AT] = 7; // 0 is a valid BOOL too: the same bytes, typed BOOL
  return file;
}
/** Offsets in a one-key file with key "a": header 24, key 8 + 1, value type 4, item type 4, count 8. */
const ITEM_TYPE_AT = 24 + 9 + 4;
const COUNT_AT = ITEM_TYPE_AT + 4;
/** The default cap (MAX_METADATA_ARRAY_ITEMS): room for real vocabularies (llama-3: 128,256 tokens + 280,147 merges). */
const MAX_METADATA_ARRAY_ITEMS = 1 << 21;

describe("bool and string metadata arrays are capped (one JS value per item)", () => {
  test("a BOOL array of 4 Mi items is refused at its count, naming the key and the offset (it took ~0.5 s and ~45 MB per 4 Mi)", () => {
    // Refused at the count's offset: before any item was read.
    expectGgufError(oneArray(7, 4 << 20), /^kv "a" count$/, COUNT_AT, /4194304 BOOL items.*at most 2097152/);
  });

  test("a STRING array of 2 Mi + 1 empty strings is refused at its count (4 Mi took ~2 s and ~150 MB)", () => {
    expectGgufError(oneArray(8, MAX_METADATA_ARRAY_ITEMS + 1), /^kv "a" count$/, COUNT_AT, /2097153 STRING items/);
  });

  test("the cap counts every bool and string array of the file together", () => {
    const half = (1 << 20) + 1;
    const file = writeGguf({ metadata: [["a", { type: 9, itemType: 8, value: new Array<string>(half).fill("") }],
      ["b", { type: 9, itemType: 8, value: new Array<string>(half).fill("x") }]], tensors: [] });
    const bCountAt = COUNT_AT + 8 + half * 8 + 8 + 1 + 4 + 4;
    expectGgufError(file, /^kv "b" count$/, bCountAt, /1048577 STRING items.*1048577 already read/);
  });

  test("an array at the cap is read, and maxArrayItems lifts the cap", () => {
    const at = oneArray(7, MAX_METADATA_ARRAY_ITEMS);
    const v = readGguf(at).meta("a") as boolean[];
    expect(v.length).toBe(MAX_METADATA_ARRAY_ITEMS);
    expect(v[0]).toBe(false);
    const over = oneArray(8, MAX_METADATA_ARRAY_ITEMS + 1);
    expect((readGguf(over, { maxArrayItems: MAX_METADATA_ARRAY_ITEMS + 1 }).meta("a") as string[]).length).toBe(MAX_METADATA_ARRAY_ITEMS + 1);
  });

  test("numeric arrays are typed arrays and not capped (2^22 UINT8)", () => {
    expect((readGguf(oneArray(0, 4 << 20)).meta("a") as Uint8Array).length).toBe(4 << 20);
  });
});

/** The same one-key array file big-endian: every header and key/value field swapped, each `size`-byte item reversed. */
function toBigEndian(le: Uint8Array, size: number): Uint8Array {
  const be = le.slice();
  const dv = new DataView(be.buffer);
  const src = new DataView(le.buffer);
  for (const at of [8, 16, 24, COUNT_AT]) dv.setBigUint64(at, src.getBigUint64(at, true), false);
  for (const at of [4, 33, ITEM_TYPE_AT]) dv.setUint32(at, src.getUint32(at, true), false);
  for (let at = COUNT_AT + 8; at < be.length; at += size) {
    for (let k = 0; k < size; k++) be[at + k] = le[at + size - 1 - k]!;
  }
  return be;
}

describe("the shipped executable", () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-meta-array-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  test("boot --model and inspect refuse a model with a 4 Mi BOOL array: exit 2, naming the key and the byte offset", () => {
    const model = join(dir, "bools.gguf");
    writeFileSync(model, oneArray(7, 4 << 20));
    const boot = ["boot", "--model", model, "--set", "shutdown_after=1", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`];
    for (const args of [boot, ["inspect", model], ["inspect", "--json", "--max-items", "2", model]]) {
      const r = runShipped(args, { timeoutMs: 60_000, env: { TMPDIR: dir } });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(`GGUF kv "a" count at byte ${COUNT_AT}: 4194304 BOOL items`);
    }
  }, 120_000);
});

/** Calls of the typed arrays' subarray, slice and reverse made by `fn` (a view or a copy per item is work per item). */
function typedArrayCalls<T>(fn: () => T): { result: T; calls: number } {
  const proto = Object.getPrototypeOf(Uint8Array.prototype) as Record<"subarray" | "slice" | "reverse", (...a: unknown[]) => unknown>;
  const orig = { subarray: proto.subarray, slice: proto.slice, reverse: proto.reverse };
  let calls = 0;
  for (const name of ["subarray", "slice", "reverse"] as const) {
    proto[name] = function (this: unknown, ...a: unknown[]) {
      calls++;
      return orig[name].apply(this, a);
    };
  }
  try {
    return { result: fn(), calls };
  } finally {
    Object.assign(proto, orig);
  }
}

describe("big-endian numeric arrays", () => {
  test("a big-endian UINT16 array of 32 Mi items was swapped item by item, a subarray each (it took ~3.5 s and ~480 MB): it takes the little-endian read's typed-array calls", () => {
    const n = 32 << 20;
    const le = writeGguf({ metadata: [["a", { type: 9, itemType: 2, value: new Uint16Array(n).fill(7, 5, 6).fill(0xfffe, n - 1) }]], tensors: [] });
    const be = toBigEndian(le, 2);
    const leRead = typedArrayCalls(() => readGguf(le));
    const beRead = typedArrayCalls(() => readGguf(be));
    const g = beRead.result;
    const v = g.meta("a") as Uint16Array;
    expect(g.littleEndian).toBe(false);
    expect([v.length, v[0], v[5], v[n - 1]]).toEqual([n, 0, 7, 0xfffe]);
    expect(leRead.calls).toBeGreaterThan(0); // the counter sees the reader's calls
    expect(beRead.calls).toBeLessThanOrEqual(leRead.calls + 4);
  }, 60_000);

  test("big-endian arrays of every item size read back their values", () => {
    const cases: GgufValue[] = [
      { type: 9, itemType: 3, value: Int16Array.of(1, -2, 0x1234) },
      { type: 9, itemType: 4, value: Uint32Array.of(1, 0xdeadbeef, 0x01020304) },
      { type: 9, itemType: 6, value: Float32Array.of(1.5, -0, Infinity) },
      { type: 9, itemType: 11, value: BigInt64Array.of(-1n, 0x0102030405060708n, 1n << 62n) },
      { type: 9, itemType: 10, value: BigUint64Array.of(0xfedcba9876543210n, 0n, 1n) },
      { type: 9, itemType: 12, value: Float64Array.of(Math.PI, -1e300, 5e-324) },
    ];
    for (const c of cases) {
      const size = (c.value as Uint8Array).BYTES_PER_ELEMENT;
      const g = readGguf(toBigEndian(writeGguf({ metadata: [["a", c]], tensors: [] }), size));
      expect(g.metadata.get("a")).toEqual(c);
    }
  });
});
