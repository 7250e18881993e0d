// verify of a package replaced (renamed over) while it runs: the checksums and the GGUF it reports are those of one file.
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { spawnShipped } from "../harness/artifact.ts";
import { openAs } from "../harness/open-files.ts";
import { readGguf } from "../../src/gguf/reader.ts";
import { encodeRtsHeader, RTS_HEADER_SIZE, RTS_TENSOR_ALIGNMENT } from "../../src/rts/format.ts";
import { fixture, tempDir, writeSyntheticGguf } from "./helpers.ts";

const t = tempDir("verify-replaced");
afterAll(() => t.cleanup());

// A sparse binary section of 512 MiB (hashed at memory speed, never on disk): the window between the
// check of the checksums and the parse of the GGUF is the time that hash takes.
const binarySize = 512 << 20;
const tensorOffset = Math.ceil((RTS_HEADER_SIZE + binarySize) / RTS_TENSOR_ALIGNMENT) * RTS_TENSOR_ALIGNMENT;
const model = new Uint8Array(readFileSync(fixture("ref-s1-a64.gguf")));
const modelTensors = readGguf(model).tensors.length;

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(new Bun.CryptoHasher("sha256").update(b).digest() as unknown as ArrayBuffer);

function zerosSha256(n: number): Uint8Array {
  const h = new Bun.CryptoHasher("sha256");
  const chunk = new Uint8Array(4 << 20);
  for (let done = 0; done < n; done += chunk.length) h.update(chunk.subarray(0, Math.min(chunk.length, n - done)));
  return new Uint8Array(h.digest() as unknown as ArrayBuffer);
}

test("verify opened the package four times (magic, header, checksums, GGUF): a plain GGUF renamed over it while the sections were hashed was reported as the package ('rts', checksums ok) with the replacement's GGUF (its tensor count); now one descriptor: the report is of one file", async () => {
  const header = encodeRtsHeader({ binaryOffset: RTS_HEADER_SIZE, binarySize, tensorOffset, tensorSize: model.length, checksums: { binarySha256: zerosSha256(binarySize), tensorSha256: sha(model) } });
  const rts = join(t.dir, "x.rts");
  const fd = openSync(rts, "w");
  try {
    writeSync(fd, header, 0, header.length, 0);
    writeSync(fd, model, 0, model.length, tensorOffset);
  } finally {
    closeSync(fd);
  }
  const replacement = join(t.dir, "replacement.gguf");
  writeSyntheticGguf(replacement, 1); // one tensor
  expect(modelTensors).not.toBe(1);

  const p = spawnShipped(["verify", "--json", rts]);
  const killer = setTimeout(() => p.kill(9), 120_000);
  // Once the command has held the package open for 100 ms (it is hashing the binary section: not one of the
  // quick looks at the magic or the header), the replacement is renamed over it.
  let replaced = false;
  while (p.exitCode === null && p.signalCode === null) {
    const n = openAs(p.pid, rts);
    if (n !== null) {
      await Bun.sleep(100);
      if (openAs(p.pid, rts) === n) {
        renameSync(replacement, rts);
        replaced = true;
        break;
      }
    }
    await Bun.sleep(1);
  }
  await p.exited;
  clearTimeout(killer);
  const stdout = await new Response(p.stdout).text();
  const stderr = await new Response(p.stderr).text();
  expect(replaced, `the command ended before it was seen holding the package open: ${stderr}`).toBe(true);
  expect(p.exitCode, `${stdout}${stderr}`).toBe(0);
  const r = JSON.parse(stdout.trim()) as { kind: string; checksums: string; tensors: number; fileSize: number };
  if (r.kind === "rts") {
    // The package verified: its own GGUF, not the replacement's.
    expect({ checksums: r.checksums, tensors: r.tensors, fileSize: r.fileSize }).toEqual({ checksums: "ok", tensors: modelTensors, fileSize: tensorOffset + model.length });
  } else {
    // Replaced before it was opened: the replacement, reported as what it is.
    expect({ kind: r.kind, tensors: r.tensors }).toEqual({ kind: "gguf", tensors: 1 });
  }
}, 180_000);
