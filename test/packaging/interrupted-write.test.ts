// Ctrl-C (SIGINT) or SIGTERM while pack or unpack writes: the command stops, ends by that signal, and leaves no temporary file.
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped, shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { prng, randomBytes, tempDir, writeSyntheticGguf } from "./helpers.ts";

const t = tempDir("interrupted");
afterAll(() => t.cleanup());

const binary = join(t.dir, "prog");
writeFileSync(binary, randomBytes(5000, prng(5)));
const big = join(t.dir, "big.gguf");
writeSyntheticGguf(big, 1024, { sparse: true });

/** The signal reaches the command with its default disposition, whatever this test process inherited (a background job ignores SIGINT). */
const withDefaultSignals = (argv: string[]) => ["python3", "-c", "import os, signal, sys\nfor s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)\nos.execvp(sys.argv[1], sys.argv[1:])", ...argv];

/** Runs the command, sends `signal` once its temporary file has existed for a moment, and returns how it ended and what the directory holds. */
async function interrupt(args: string[], dir: string, signal: "SIGINT" | "SIGTERM") {
  const p = Bun.spawn(withDefaultSignals(shipped(args)), { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv() });
  const deadline = Date.now() + 60_000;
  while (!readdirSync(dir).some((n) => n.includes(".tmp-")) && p.exitCode === null && Date.now() < deadline) await Bun.sleep(5);
  const sawTemp = readdirSync(dir).some((n) => n.includes(".tmp-"));
  await Bun.sleep(100);
  p.kill(signal);
  const timer = setTimeout(() => p.kill(9), 120_000);
  await p.exited;
  clearTimeout(timer);
  return { sawTemp, signal: p.signalCode, code: p.exitCode, stderr: await new Response(p.stderr).text(), left: readdirSync(dir).sort() };
}

test("pack interrupted by Ctrl-C (SIGINT) while it wrote left its partial temporary file (out.rts.tmp-<pid>, up to the model's size) in the output directory: the write stops, the file is removed, the command ends by SIGINT", async () => {
  const dir = join(t.dir, "pack-out");
  require("node:fs").mkdirSync(dir);
  const r = await interrupt(["pack", "--binary", binary, "--gguf", big, "-o", join(dir, "big.rts")], dir, "SIGINT");
  expect(r.sawTemp, r.stderr).toBe(true);
  expect(r.left).toEqual([]);
  expect(r.signal).toBe("SIGINT");
}, 180_000);

test("unpack interrupted by SIGTERM while it wrote left its temporary files: none is left, no output, the command ends by SIGTERM", async () => {
  const rts = join(t.dir, "big.rts");
  const packed = runShipped(["pack", "--binary", binary, "--gguf", big, "-o", rts], { timeoutMs: 120_000 });
  expect(packed.code, packed.stderr).toBe(0);
  const dir = join(t.dir, "unpack-out");
  require("node:fs").mkdirSync(dir);
  const r = await interrupt(["unpack", rts, "-C", dir], dir, "SIGTERM");
  expect(r.sawTemp, r.stderr).toBe(true);
  expect(r.left).toEqual([]);
  expect(r.signal).toBe("SIGTERM");
  expect(existsSync(join(dir, "big.gguf"))).toBe(false);
}, 240_000);
