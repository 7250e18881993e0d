// unpack of a package replaced (renamed over) while it runs: the output is the verified package's bytes, or nothing.
import { afterAll, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { spawnShipped } from "../harness/artifact.ts";
import { openAs } from "../harness/open-files.ts";
import { encodeRtsHeader, RTS_HEADER_SIZE, RTS_TENSOR_ALIGNMENT } from "../../src/rts/format.ts";
import { prng, randomBytes, tempDir } from "./helpers.ts";

const t = tempDir("unpack-replaced");
afterAll(() => t.cleanup());

// A sparse binary section of 512 MiB (hashed at memory speed, never on disk): the window between the open
// of the package and the copy of its tensor section is the time that hash takes.
const binarySize = 512 << 20;
const tensorOffset = Math.ceil((RTS_HEADER_SIZE + binarySize) / RTS_TENSOR_ALIGNMENT) * RTS_TENSOR_ALIGNMENT;
const tensor = randomBytes(8192, prng(11));
tensor.set(new TextEncoder().encode("GGUF"));
const other = randomBytes(8192, prng(12));
other.set(new TextEncoder().encode("GGUF"));

function zerosSha256(n: number): Uint8Array {
  const h = new Bun.CryptoHasher("sha256");
  const chunk = new Uint8Array(4 << 20);
  for (let done = 0; done < n; done += chunk.length) h.update(chunk.subarray(0, Math.min(chunk.length, n - done)));
  return new Uint8Array(h.digest() as unknown as ArrayBuffer);
}

/** The package's header (the checksums of `tensor`) with `section` as its tensor section: `other` makes a package that fails verification. */
function writePackage(path: string, header: Uint8Array, section: Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, header, 0, header.length, 0);
    writeSync(fd, section, 0, section.length, tensorOffset);
  } finally {
    closeSync(fd);
  }
}

const hasOpen = (pid: number, path: string): boolean => openAs(pid, path) !== null;

test("unpack verified the checksums through one open of the package and copied the sections through a second: a package renamed over the path in between was written out unverified (exit 0, the replacement's tensor section); now the output is the verified package's bytes", async () => {
  const header = encodeRtsHeader({
    binaryOffset: RTS_HEADER_SIZE,
    binarySize,
    tensorOffset,
    tensorSize: tensor.length,
    checksums: { binarySha256: zerosSha256(binarySize), tensorSha256: new Uint8Array(new Bun.CryptoHasher("sha256").update(tensor).digest() as unknown as ArrayBuffer) },
  });
  const rts = join(t.dir, "x.rts");
  const replacement = join(t.dir, "replacement.rts");
  writePackage(rts, header, tensor);
  writePackage(replacement, header, other);
  const outGguf = join(t.dir, "x.gguf");

  const p = spawnShipped(["unpack", rts, "--gguf", outGguf]);
  const killer = setTimeout(() => p.kill(9), 120_000);
  // Once the command holds the package open (it is hashing the binary section), the replacement is renamed over it.
  let replaced = false;
  while (p.exitCode === null && p.signalCode === null) {
    if (hasOpen(p.pid, rts)) {
      renameSync(replacement, rts);
      replaced = true;
      break;
    }
    await Bun.sleep(1);
  }
  await p.exited;
  clearTimeout(killer);
  const stderr = await new Response(p.stderr).text();
  expect(replaced, `the command ended before it was seen holding the package open: ${stderr}`).toBe(true);
  if (p.exitCode === 0) {
    expect(Buffer.from(readFileSync(outGguf)).equals(Buffer.from(tensor)), "the tensor section written is not the verified package's").toBe(true);
  } else {
    // A package replaced before it was opened fails verification as a whole: nothing written.
    expect(p.exitCode, stderr).toBe(65);
    expect(existsSync(outGguf)).toBe(false);
  }
  expect(readdirSync(t.dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
}, 180_000);
