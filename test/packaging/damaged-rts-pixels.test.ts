// `pixels --model PKG.rts` (NeuralRuntime.init of an .rts path) and a package whose tensor section fails its SHA-256.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readGguf } from "../../src/gguf/index.ts";
import { readRtsHeader } from "../../src/rts/package.ts";
import { root, runShipped, tempDir } from "../harness/artifact.ts";

const dir = tempDir("damaged-rts-pixels-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("pixels --model with an RTS package whose tensor section had a weight byte flipped (header intact) printed a silently different result, exit 0, where boot and verify refuse it: now 65 naming tensor.sha256", () => {
  const good = join(dir, "good.rts");
  const gguf = join(dir, "vectorland.gguf"); // the checkout is hidden from the shipped executable
  copyFileSync(join(root, "dist/vectorland.gguf"), gguf);
  const pack = runShipped(["pack", "--binary", "/bin/true", "--gguf", gguf, "-o", good]);
  expect(pack.code).toBe(0);
  // One bit of a pixel-head bias: a weight the loader cannot tell from any other value.
  const g = readGguf(new Uint8Array(readFileSync(gguf)));
  const bias = g.tensors.find((t) => t.name === "pixel.1.bias")!;
  const h = readRtsHeader(good);
  const bytes = readFileSync(good);
  bytes[h.tensorOffset + bias.absOffset + 3]! ^= 0x04;
  const bad = join(dir, "bad.rts");
  writeFileSync(bad, bytes);

  const ok = runShipped(["pixels", "--json", "--model", good, "1,2,3"]);
  expect(ok.code).toBe(0);
  const r = runShipped(["pixels", "--json", "--model", bad, "1,2,3"]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 65, stdout: "" });
  expect(r.stderr).toContain("tensor.sha256");
  expect(r.stderr).toContain("bad.rts");
  expect(runShipped(["verify", bad]).code).toBe(65);
}, 60_000);
