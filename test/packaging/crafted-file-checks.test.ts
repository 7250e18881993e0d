// Files crafted to fool or exhaust the checks of `verify`, `rts-inspect` and `inspect`: an ELF header table of gigabytes, a GGUF whose weights hold the trailer's magic, names holding escape sequences.
import { afterAll, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeGguf } from "../../src/gguf/writer.ts";
import { appendModel } from "../../src/rts/embed.ts";
import { shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { Raw } from "../gguf/helpers.ts";
import { fixture, tempDir } from "./helpers.ts";

const t = tempDir("crafted");
afterAll(() => t.cleanup());

/** The shipped executable on `args`: exit code and output. */
function run(args: string[]) {
  const r = Bun.spawnSync(shipped(args), { stdout: "pipe", stderr: "pipe", timeout: 60_000, cwd: shippedDir, env: shippedEnv() });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/**
 * `run`, with the command's peak RSS (bytes) as wait4 reports it, forked from a small Python process:
 * forked from this test runner, the child's peak starts at the runner's own size (hundreds of MB
 * late in a run), whatever the command does.
 */
function runMeasured(args: string[]) {
  const py = "import os, sys\npid = os.fork()\nif pid == 0:\n    os.execvp(sys.argv[1], sys.argv[1:])\n_, status, ru = os.wait4(pid, 0)\nsys.stderr.write('maxrss=%d\\n' % ru.ru_maxrss)\nsys.exit(os.waitstatus_to_exitcode(status))";
  const r = Bun.spawnSync(["python3", "-c", py, ...shipped(args)], { stdout: "pipe", stderr: "pipe", timeout: 60_000, cwd: shippedDir, env: shippedEnv() });
  const err = r.stderr.toString();
  const kb = /maxrss=(\d+)\n$/.exec(err);
  if (!kb) throw new Error(`no peak RSS reported: ${err}`);
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: err.slice(0, kb.index), maxRss: Number(kb[1]) * 1024 };
}

test("a 4 KiB sparse file with the ELF magic whose header table claimed 16384 entries of 65535 bytes had the 1 GiB table read into memory by `verify` (1.1 GB peak RSS, seconds; 4.3 GB at 65535 entries): the entries are read one by one", () => {
  const path = join(t.dir, "elf-table-bomb");
  const h = new Uint8Array(64);
  const v = new DataView(h.buffer);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELF64, little-endian
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 62, true); // x86-64
  v.setBigUint64(32, 64n, true); // e_phoff
  v.setUint16(54, 65535, true); // e_phentsize
  v.setUint16(56, 16384, true); // e_phnum
  const fd = openSync(path, "w");
  writeSync(fd, h);
  ftruncateSync(fd, 64 + 65535 * 16384 + 4096);
  closeSync(fd);
  for (const cmd of ["verify", "rts-inspect"]) {
    const r = runMeasured([cmd, path]);
    expect({ cmd, code: r.code }).toEqual({ cmd, code: 65 });
    expect(r.maxRss).toBeLessThan(200 * 1024 * 1024);
  }
}, 60_000);

test("a well-formed GGUF whose last weights held the trailer's magic VBMODEL\\0 was called a truncated executable by `verify` and `rts-inspect` (65): it is verified as the GGUF it is", () => {
  const data = new Uint8Array(64);
  data.set(new TextEncoder().encode("VBMODEL\0"), 40);
  const path = join(t.dir, "magic-in-weights.gguf");
  writeFileSync(path, writeGguf({ metadata: [], tensors: [{ name: "w", type: 24, ne: [64], data }] }));
  const verify = run(["verify", path]);
  expect({ code: verify.code, err: verify.err }).toEqual({ code: 0, err: "" });
  expect(run(["rts-inspect", path]).code).toBe(0);
  expect(run(["inspect", path]).code).toBe(0);
});

test("a GGUF key or tensor name holding an escape sequence and a newline reached the terminal raw through the error message (a forged `verify: ... ok` line): it is escaped", () => {
  const evil = "\x1b[2J\x1b[32mOK\nverify: fine.gguf: ok";
  // The same key twice (a duplicate), and a bool whose value is 5 under that name.
  const dup = new Raw().header(0, 2).str(evil).u32(4).u32(1).str(evil).u32(4).u32(2);
  const badBool = new Raw().header(0, 1).str(evil).u32(7).u8(5);
  for (const [name, raw] of [["dup-key.gguf", dup], ["bad-bool.gguf", badBool]] as const) {
    const path = join(t.dir, name);
    writeFileSync(path, raw.done());
    for (const cmd of ["verify", "inspect"]) {
      const r = run([cmd, path]);
      expect(r.code).not.toBe(0);
      expect(r.err).not.toContain("\x1b");
      expect(r.err).toContain("\\x1b[2J\\x1b[32mOK\\nverify: fine.gguf: ok");
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    }
  }
});

test("a shell script with a model appended (appendModel, a trailer) was refused by `inspect` ('GGUF magic ... found 23 21 2f 62', exit 2) while `verify` read it: inspect reads its model too", async () => {
  const script = join(t.dir, "program.sh");
  writeFileSync(script, `#!/bin/sh\n${"echo x\n".repeat(20)}`);
  const out = join(t.dir, "program-with-model");
  await appendModel(script, fixture("ref-s1-a32.gguf"), out);
  expect(run(["verify", out]).code).toBe(0);
  const r = run(["inspect", out]);
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  expect(r.out).toContain("embedded");
});
