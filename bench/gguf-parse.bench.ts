// GGUF header + tensor-info parse of a 1,000-tensor file: our reader vs @huggingface/gguf on the same local file, same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gguf as hfGguf } from "@huggingface/gguf";
import { bench, do_not_optimize, run } from "mitata";
import { GgmlType, type GgufTensorInput, type GgufValue, gv, quantize, readGguf, writeGgufFile } from "../src/gguf/index.ts";

const N_TENSORS = 1000;
const dir = mkdtempSync(join(tmpdir(), "vb-bench-gguf-"));
const path = join(dir, "1000-tensors.gguf");

// A llama-like layout: 100 blocks x 10 tensors of mixed types, plus typical metadata.
const kinds = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm", "ffn_norm", "extra"];
const types = [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F16, GgmlType.F32];
const tensors: GgufTensorInput[] = [];
for (let i = 0; i < N_TENSORS; i++) {
  const type = types[i % types.length]!;
  const ne = [64, 1 + (i % 3)];
  tensors.push({ name: `blk.${Math.floor(i / 10)}.${kinds[i % 10]}.weight`, type, ne, data: quantize(type, new Float32Array(ne[0]! * ne[1]!).fill(0.5)) });
}
const metadata = new Map<string, GgufValue>([
  ["general.architecture", gv.str("llama")], ["general.name", gv.str("bench")], ["llama.block_count", gv.u32(100)],
  ["llama.context_length", gv.u32(4096)], ["llama.embedding_length", gv.u32(64)], ["llama.attention.head_count", gv.u32(8)],
  ["llama.rope.freq_base", gv.f32(10000)], ["general.file_type", gv.u32(7)], ["tokenizer.ggml.model", gv.str("llama")],
]);
const size = await writeGgufFile(path, { metadata, tensors });

// Same answer from both before timing anything.
const ours = readGguf(await Bun.file(path).bytes());
const theirs = await hfGguf(path, { allowLocalFile: true });
if (ours.tensors.length !== N_TENSORS || theirs.tensorInfos.length !== N_TENSORS ||
  ours.tensors.some((t, i) => BigInt(t.relOffset) !== theirs.tensorInfos[i]!.offset) || BigInt(ours.dataOffset) !== theirs.tensorDataOffset) {
  throw new Error("readers disagree on the benchmark file");
}

let mapFile: ((p: string) => { bytes: Uint8Array; unmap(): void }) | null = null;
try {
  mapFile = (await import("../src/sys/mmap.ts")).mapFileReadOnly;
  mapFile(path).unmap();
} catch (e) {
  console.log(`(read-only mmap unavailable: ${(e as Error).message}; timing Bun.file().bytes() instead)`);
  mapFile = null;
}
const inMemory = await Bun.file(path).bytes();

console.log(`file: ${N_TENSORS} tensors, ${metadata.size} keys, ${size} bytes (header ${ours.dataOffset} bytes)`);
bench("ours: open + mmap + parse + unmap", async () => {
  if (mapFile) {
    const m = mapFile(path);
    do_not_optimize(readGguf(m.bytes).tensors.length);
    m.unmap();
  } else {
    do_not_optimize(readGguf(await Bun.file(path).bytes()).tensors.length);
  }
});
bench("ours: parse only (bytes in memory)", () => do_not_optimize(readGguf(inMemory).tensors.length));
bench("@huggingface/gguf: local file", async () => do_not_optimize((await hfGguf(path, { allowLocalFile: true })).tensorInfos.length));

const res = await run();
rmSync(dir, { recursive: true, force: true });
const avg = (name: string) => res.benchmarks.find((b) => b.alias === name)!.runs[0]!.stats!.avg;
const ref = avg("@huggingface/gguf: local file");
const file = avg("ours: open + mmap + parse + unmap");
const mem = avg("ours: parse only (bytes in memory)");
console.log(`\nratio (@huggingface/gguf time / ours), same file, same run:`);
console.log(`  file -> parsed:        ${(ref / file).toFixed(2)}x  (ours ${(file / 1e3).toFixed(1)} us, theirs ${(ref / 1e3).toFixed(1)} us)`);
console.log(`  parse of mapped bytes: ${(ref / mem).toFixed(2)}x  (ours ${(mem / 1e3).toFixed(1)} us)`);
