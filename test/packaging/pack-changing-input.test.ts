// pack of an input rewritten while it runs: the package's checksums are those of the bytes it holds.
import { afterAll, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync, readdirSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { runShipped, spawnShipped } from "../harness/artifact.ts";
import { tempDir, writeSyntheticGguf } from "./helpers.ts";

const t = tempDir("pack-changing");
afterAll(() => t.cleanup());

test("pack hashed each input in one pass and copied it in a second: a GGUF rewritten in place in between gave a package whose tensor checksum did not match its bytes (verify: tensor.sha256, exit 65); now the checksums are of the bytes copied", async () => {
  // A sparse 256 MiB binary: its copy is the window between the temporary file's creation and the GGUF's copy.
  const binary = join(t.dir, "prog");
  const bfd = openSync(binary, "w");
  ftruncateSync(bfd, 256 << 20);
  closeSync(bfd);
  const gguf = join(t.dir, "model.gguf");
  writeSyntheticGguf(gguf, 1);
  const outDir = join(t.dir, "out");
  require("node:fs").mkdirSync(outDir);
  const rts = join(outDir, "x.rts");

  const p = spawnShipped(["pack", "--binary", binary, "--gguf", gguf, "-o", rts]);
  const killer = setTimeout(() => p.kill(9), 120_000);
  // Once the package's temporary file exists, the last weight of the GGUF is rewritten in place (still a well-formed GGUF).
  let rewrote = false;
  while (p.exitCode === null && p.signalCode === null) {
    if (readdirSync(outDir).some((n) => n.includes(".tmp-"))) {
      const fd = openSync(gguf, "r+");
      writeSync(fd, new Uint8Array(new Float32Array([-7.5]).buffer), 0, 4, statSync(gguf).size - 4);
      closeSync(fd);
      rewrote = true;
      break;
    }
    await Bun.sleep(1);
  }
  await p.exited;
  clearTimeout(killer);
  const stderr = await new Response(p.stderr).text();
  expect(rewrote, `the command ended before its temporary file was seen: ${stderr}`).toBe(true);
  expect(p.exitCode, stderr).toBe(0);
  const v = runShipped(["verify", rts], { timeoutMs: 60_000 });
  expect(v.code, v.stderr).toBe(0);
}, 180_000);
