// tensor_count and kv_count are capped: each entry costs 10-20 times its bytes once parsed, so the file size is no bound.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { readGguf, writeGguf, type GgufValue } from "../../src/gguf/index.ts";
import { expectGgufError } from "./helpers.ts";

/** The default caps (MAX_TENSORS, MAX_METADATA_KVS): llama-3.1-405B has 1,138 tensors, llama.cpp files a few dozen keys. */
const CAP = 1 << 16;

/** `n` UINT8 key/values with short distinct keys, from the writer. */
function manyKeys(n: number): Uint8Array {
  const md: [string, GgufValue][] = [];
  for (let i = 0; i < n; i++) md.push([i.toString(36), { type: 0, value: 0 }]);
  return writeGguf({ metadata: md, tensors: [] });
}

/** `n` one-byte I8 tensors at alignment 1, from the writer. */
function manyTensors(n: number): Uint8Array {
  const one = new Uint8Array(1);
  return writeGguf({ metadata: [], tensors: Array.from({ length: n }, (_, i) => ({ name: i.toString(36), type: 24, ne: [1], data: one })), alignment: 1 });
}

describe("kv_count", () => {
  test("65,537 key/value pairs are refused at kv_count (2 Mi one-byte pairs took 11 s and ~580 MB; inspect 38 s and 1.5 GB)", () => {
    expectGgufError(manyKeys(CAP + 1), /^kv_count$/, 16, /65537 key\/value pairs: at most 65536/);
  });
  test("65,536 are read, and maxKeyValues lifts the cap", () => {
    expect(readGguf(manyKeys(CAP)).metadata.size).toBe(CAP);
    expect(readGguf(manyKeys(CAP + 1), { maxKeyValues: CAP + 1 }).metadata.size).toBe(CAP + 1);
  });
});

describe("tensor_count", () => {
  test("65,537 tensors are refused at tensor_count (1 Mi one-byte tensors took 6.5 s and ~390 MB)", () => {
    expectGgufError(manyTensors(CAP + 1), /^tensor_count$/, 8, /65537 tensors: at most 65536/);
  });
  test("65,536 are read, and maxTensors lifts the cap", () => {
    expect(readGguf(manyTensors(CAP)).tensors.length).toBe(CAP);
    expect(readGguf(manyTensors(CAP + 1), { maxTensors: CAP + 1 }).tensors.length).toBe(CAP + 1);
  });
});

describe("the shipped executable", () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-header-count-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  test("boot --model and inspect refuse such a model: exit 2, naming the count and its byte offset", () => {
    const keys = join(dir, "keys.gguf");
    const tensors = join(dir, "tensors.gguf");
    writeFileSync(keys, manyKeys(CAP + 1));
    writeFileSync(tensors, manyTensors(CAP + 1));
    for (const [model, text] of [[keys, "GGUF kv_count at byte 16: 65537 key/value pairs"], [tensors, "GGUF tensor_count at byte 8: 65537 tensors"]] as const) {
      const boot = ["boot", "--model", model, "--set", "shutdown_after=1", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`];
      for (const args of [boot, ["inspect", model]]) {
        const r = runShipped(args, { timeoutMs: 60_000, env: { TMPDIR: dir } });
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toContain(text);
      }
    }
  }, 120_000);
});
