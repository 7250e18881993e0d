// The files a command is given or told to write, when they are not what it expects: a directory, a FIFO, a missing directory.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { mkfifo } from "../harness/fifo.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { fixture, prng, randomBytes, root, tempDir } from "./helpers.ts";

const t = tempDir("file-args");
afterAll(() => t.cleanup());
const gguf = fixture("ref-s1-a32.gguf");
const binary = join(t.dir, "prog");
writeFileSync(binary, randomBytes(7000, prng(3)));
const dir = join(t.dir, "a-directory");
mkdirSync(dir);
const fifo = mkfifo(t.dir);
// A FIFO nobody writes to used to hang the command in open(): bounded here, and the test says so.
const run = (args: string[]) => runShipped(args, { timeoutMs: 20_000 });

test("a directory given as a command's FILE was read until EISDIR (exit 70, 'internal error') and a FIFO hung it in open(); both are refused naming the file (exit 64)", () => {
  const cases: Array<[string[], string]> = [
    [["inspect", dir], "inspect"],
    [["inspect", fifo], "inspect"],
    [["verify", dir], "verify"],
    [["verify", fifo], "verify"],
    [["rts-inspect", dir], "rts-inspect"],
    [["unpack", dir], "unpack"],
    [["unpack", fifo], "unpack"],
    [["pack", "--binary", dir, "--gguf", gguf, "-o", join(t.dir, "x.rts")], "pack --binary"],
    [["pack", "--binary", binary, "--gguf", fifo, "-o", join(t.dir, "x.rts")], "pack --gguf"],
  ];
  for (const [args, what] of cases) {
    const r = run(args);
    const path = args.includes(fifo) ? fifo : dir;
    expect({ args, code: r.code, signal: r.signal ?? null }).toEqual({ args, code: 64, signal: null });
    expect(r.stderr).toContain(`${what}: cannot read ${path}: ${path} is ${path === fifo ? "a FIFO" : "a directory"}, not a regular file`);
  }
  expect(existsSync(join(t.dir, "x.rts"))).toBe(false);
}, 120_000);

test("an output naming a directory, or in a directory that does not exist, was a rename/open error (exit 70); it is refused before any work, and nothing is left behind", () => {
  const packTo = (out: string) => run(["pack", "--binary", binary, "--gguf", gguf, "-o", out]);
  const intoDir = packTo(dir);
  expect(intoDir.code).toBe(64);
  expect(intoDir.stderr).toContain(`${dir} is a directory: name the file to write`);
  expect(statSync(dir).isDirectory()).toBe(true);
  const missing = join(t.dir, "no-such-dir", "x.rts");
  const intoMissing = packTo(missing);
  expect(intoMissing.code).toBe(64);
  expect(intoMissing.stderr).toContain(`cannot write ${missing}: directory ${join(t.dir, "no-such-dir")} does not exist`);
  // The initramfs (seconds of work) is refused before it is built.
  const img = run(["initramfs", "-o", dir]);
  expect(img.code).toBe(64);
  expect(img.stderr).toContain(`${dir} is a directory: name the file to write`);
  expect(img.stderr).not.toContain("cpio newc");
  // unpack's targets too.
  const rts = join(t.dir, "ok.rts");
  expect(packTo(rts).code).toBe(0);
  const u = run(["unpack", rts, "--gguf", dir]);
  expect(u.code).toBe(64);
  expect(u.stderr).toContain(`${dir} is a directory: name the file to write`);
  expect(readdirSync(t.dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  expect(readdirSync(dir)).toEqual([]);
}, 120_000);

test("an output that was a device, a FIFO or a symbolic link was replaced by a regular file (initramfs --list -o /dev/null, as root, replaced /dev/null): refused naming it, and it stays what it was", () => {
  const dev = join(t.dir, "null-device");
  const mk = Bun.spawnSync(["mknod", "-m", "666", dev, "c", "1", "3"]);
  expect(mk.exitCode).toBe(0);
  const target = join(t.dir, "link-target");
  writeFileSync(target, "keep");
  const link = join(t.dir, "a-link");
  symlinkSync(target, link);
  const outFifo = mkfifo(t.dir, "out-fifo");
  for (const [args, out, says] of [
    [["pack", "--binary", binary, "--gguf", gguf, "-o", dev], dev, "is not a regular file (a device, FIFO or socket): refusing to replace it"],
    [["pack", "--binary", binary, "--gguf", gguf, "-o", outFifo], outFifo, "is not a regular file"],
    [["pack", "--binary", binary, "--gguf", gguf, "-o", link], link, "is a symbolic link: name the file itself"],
    [["initramfs", "--list", "-o", dev], dev, "is not a regular file"],
  ] as Array<[string[], string, string]>) {
    const r = run(args);
    expect({ args, code: r.code }).toEqual({ args, code: 64 });
    expect(r.stderr).toContain(`${out} ${says}`);
  }
  expect(lstatSync(dev).isCharacterDevice()).toBe(true);
  expect(lstatSync(outFifo).isFIFO()).toBe(true);
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(readFileSync(target, "utf8")).toBe("keep");
  rmSync(dev);
}, 60_000);

test("a pack or initramfs killed mid-write left its 100 MB temporary file (out.tmp-<pid>) behind for good; the next write to that output removes the ones whose writer is gone", () => {
  const out = join(t.dir, "again.rts");
  const dead = Bun.spawnSync(["true"]).pid; // ran and was reaped
  const stale = `${out}.tmp-${dead}`;
  const live = `${out}.tmp-${process.pid}`; // a writer still running: this test process
  writeFileSync(stale, "half");
  writeFileSync(live, "busy");
  expect(run(["pack", "--binary", binary, "--gguf", gguf, "-o", out]).code).toBe(0);
  expect(existsSync(stale)).toBe(false);
  expect(existsSync(live)).toBe(true);
  expect(existsSync(out)).toBe(true);
}, 60_000);

test("initramfs --config put a config with a typo (or a key given twice) into the image, whose PID 1 then refused the whole file and came up with the defaults: checked at build as PID 1 will read it (exit 78, no image)", () => {
  const img = join(t.dir, "cfg.img");
  const typo = join(t.dir, "typo.json");
  writeFileSync(typo, JSON.stringify({ services: [{ name: "web", argv: ["/bin/true"], restrat: "always" }] }));
  const twice = join(t.dir, "twice.json");
  writeFileSync(twice, '{"shutdown_after": 5, "shutdown_after": 6}');
  for (const [cfg, says] of [[typo, 'services[0]: Unrecognized key: "restrat"'], [twice, "shutdown_after: given twice in one object"]] as const) {
    const r = run(["initramfs", "--compress", "none", "--config", cfg, "-o", img]);
    expect({ cfg, code: r.code }).toEqual({ cfg, code: 78 });
    expect(r.stderr).toContain(says);
    expect(existsSync(img)).toBe(false);
  }
  const good = join(t.dir, "good.json");
  writeFileSync(good, JSON.stringify({ services: [{ name: "web", argv: ["/bin/true"], restart: "always" }] }));
  expect(run(["initramfs", "--compress", "none", "--config", good, "-o", img]).code).toBe(0);
  expect(existsSync(img)).toBe(true);
}, 120_000);

test("verify FILE... stopped at the first damaged file (the later ones never checked, no JSON for them); a damaged RTS package (tensor.sha256 wrong) booted anyway: verify reports each file, boot refuses it", async () => {
  // The default model, copied where the shipped executable can see it (the checkout is hidden from it).
  const model = join(t.dir, "vectorland.gguf");
  copyFileSync(join(root, "dist/vectorland.gguf"), model);
  const good = join(t.dir, "good.rts");
  const packed = run(["pack", "--binary", binary, "--gguf", model, "-o", good]);
  expect(packed.code, packed.stderr).toBe(0);
  const bad = join(t.dir, "flipped.rts");
  const b = readFileSync(good);
  b[b.length - 5]! ^= 1; // a weight byte of the tensor section
  writeFileSync(bad, b);
  const v = run(["verify", good, bad, gguf, "--json"]);
  expect(v.code).toBe(65);
  const rows = v.stdout.trim().split("\n").map((l) => JSON.parse(l) as { path: string; ok: boolean; exit?: number });
  expect(rows.map((r) => [r.path, r.ok, r.exit ?? 0])).toEqual([[good, true, 0], [bad, false, 65], [gguf, true, 0]]);
  const text = run(["verify", bad, good]);
  expect(text.code).toBe(65);
  expect(text.stderr).toContain(`verify: ${bad}: FAILED (exit 65)`);
  expect(text.stdout).toContain(`${good}: rts`);
  // The boot checks the package's recorded checksum (it hashes the model for its lineage anyway).
  const boot = run(["boot", "--model", bad, "--set", `state_dir=${join(t.dir, "state")}`, "--set", `run_dir=${join(t.dir, "run")}`, "--set", "shutdown_after=1"]);
  expect(boot.code).toBe(65);
  expect(boot.stderr).toContain("tensor.sha256");
  const ok = run(["boot", "--model", good, "--set", `state_dir=${join(t.dir, "state2")}`, "--set", `run_dir=${join(t.dir, "run2")}`, "--set", "shutdown_after=1"]);
  expect(ok.code).toBe(0);
}, 60_000);

test("a command's stdout to a slow pipe was cut at 64 KiB with exit 0 (process.exit dropped what Bun's stream still held): inspect --json of a vocabulary GGUF gave 65,536 of 1,165,995 bytes", () => {
  const vocab = fixture("llama.cpp-vocab-gpt-2.gguf");
  const full = Buffer.byteLength(run(["inspect", "--json", vocab]).stdout, "utf8");
  expect(full).toBeGreaterThan(1_000_000);
  // The reader starts reading only after a second: the pipe fills at 64 KiB while the command is done.
  const r = Bun.spawnSync(["bash", "-c", `"$0" inspect --json "$1" | (sleep 1; wc -c); exit \${PIPESTATUS[0]}`, join(shippedDir, "vector-boot"), vocab], { env: shippedEnv(), cwd: shippedDir, timeout: 30_000 });
  expect(r.exitCode).toBe(0);
  expect(Number(r.stdout.toString().trim())).toBe(full);
}, 60_000);

test("boot --model \"\" (an unset $MODEL) booted the embedded model without a word; rts-inspect of a file that is no package exited 65 saying nothing; inspect of an executable without a model exited 1 advising an option it does not have", () => {
  for (const args of [["boot", "--model", ""], ["boot", "--model="], ["boot", "--config", ""]]) {
    const r = run(args);
    expect({ args, code: r.code }).toEqual({ args, code: 64 });
    expect(r.stderr).toContain("needs a non-empty value");
  }
  const rts = run(["rts-inspect", "/bin/true"]);
  expect(rts.code).toBe(65);
  expect(rts.stderr).toContain("/bin/true is neither an RTS package nor an executable with an embedded model");
  const ins = run(["inspect", "/bin/true"]);
  expect(ins.code).toBe(65);
  expect(ins.stderr).toContain("/bin/true is an executable without an embedded model");
  expect(ins.stderr).not.toContain("--model");
});

test("initramfs exited 70 ('internal error') with a raw error for bad input: a module modules.dep names but the directory lacks, a damaged .ko.gz (no file named)", () => {
  const mods = join(t.dir, "modules", "6.1.0-test");
  mkdirSync(join(mods, "kernel", "fs"), { recursive: true });
  writeFileSync(join(mods, "kernel", "fs", "foo.ko"), randomBytes(256, prng(5)));
  writeFileSync(join(mods, "modules.dep"), "kernel/fs/foo.ko: kernel/fs/missing.ko\nkernel/fs/bad.ko.gz:\n");
  writeFileSync(join(mods, "kernel", "fs", "bad.ko.gz"), "not gzip at all");
  const out = join(t.dir, "img.cpio");
  const missing = run(["initramfs", "--modules-dir", mods, "--module", "foo", "--compress", "none", "-o", out]);
  expect(missing.code).toBe(65);
  expect(missing.stderr).toContain(`cannot read kernel module ${join(mods, "kernel/fs/missing.ko")}: ENOENT`);
  // Without a modules.dep each module's .modinfo is read: a damaged .ko.gz is named.
  const plain = join(t.dir, "modules", "6.1.0-nodep");
  mkdirSync(join(plain, "kernel"), { recursive: true });
  writeFileSync(join(plain, "kernel", "bad.ko.gz"), "not gzip at all");
  const damaged = run(["initramfs", "--modules-dir", plain, "--module", "bad", "--compress", "none", "-o", out]);
  expect(damaged.code).toBe(65);
  expect(damaged.stderr).toContain(`${join(plain, "kernel", "bad.ko.gz")}: cannot decompress`);
}, 60_000);

test("initramfs with a TMPDIR that does not exist (or a read-only one) failed (exit 70, then 71): the pre-init's scratch copy goes beside the output instead, and nothing is left there; with neither usable it exits 71 naming both", () => {
  const dir = join(t.dir, "no-tmp-out");
  mkdirSync(dir);
  const out = join(dir, "img.cpio");
  const noTmp = runShipped(["initramfs", "--compress", "none", "-o", out], { timeoutMs: 60_000, env: { TMPDIR: join(t.dir, "no-such-tmp") } });
  expect({ code: noTmp.code, err: noTmp.stderr.slice(-300) }).toMatchObject({ code: 0 });
  expect(existsSync(out)).toBe(true);
  expect(readdirSync(dir)).toEqual(["img.cpio"]);
  // Neither TMPDIR nor the output's directory (one that does not exist) can hold it.
  const nowhere = runShipped(["initramfs", "--compress", "none", "-o", join(t.dir, "no-such-dir", "img.cpio")], { timeoutMs: 30_000, env: { TMPDIR: join(t.dir, "no-such-tmp") } });
  expect(nowhere.code).toBe(71);
  expect(nowhere.stderr).toContain("TMPDIR, then the output's directory");
}, 90_000);

test("an output directory that cannot be written was found only after the whole build (a minute with xz); a bad SOURCE_DATE_EPOCH was taken as 0 silently; keys with control characters painted the terminal in inspect's text", () => {
  const ro = join(t.dir, "ro");
  mkdirSync(ro);
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro]).exitCode).toBe(0);
  try {
    const r = run(["initramfs", "--compress", "none", "-o", join(ro, "img.cpio")]);
    expect(r.code).toBe(71);
    expect(r.stderr).toContain(`${ro} (the directory of ${join(ro, "img.cpio")}: not writable): EROFS`);
    expect(r.stderr).not.toContain("cpio newc");
  } finally {
    Bun.spawnSync(["umount", ro]);
  }
  for (const v of ["abc", "-5", "99999999999"]) {
    const r = runShipped(["initramfs", "--compress", "none", "-o", join(t.dir, "e.cpio")], { timeoutMs: 30_000, env: { SOURCE_DATE_EPOCH: v } });
    expect({ v, code: r.code }).toEqual({ v, code: 64 });
    expect(r.stderr).toContain(`SOURCE_DATE_EPOCH=${JSON.stringify(v)}: must be whole seconds`);
  }
  const g = join(t.dir, "escape-key.gguf");
  writeFileSync(g, writeGguf({ metadata: [["k\u001b[31mRED\nfake: line", { type: 8, value: "v" }]], tensors: [] }));
  const ins = run(["inspect", g]);
  expect(ins.code).toBe(0);
  expect(ins.stdout).toContain(JSON.stringify("k\u001b[31mRED\nfake: line"));
  expect(ins.stdout).not.toContain("\u001b");
}, 120_000);

test("unpack --binary X --gguf X wrote the GGUF over the binary and reported both written; pack of an empty GGUF said it lacked the magic, never that it was empty", () => {
  const rts = join(t.dir, "same.rts");
  expect(run(["pack", "--binary", binary, "--gguf", gguf, "-o", rts]).code).toBe(0);
  const same = join(t.dir, "both");
  const u = run(["unpack", rts, "--binary", same, "--gguf", same]);
  expect(u.code).toBe(64);
  expect(u.stderr).toContain("--binary and --gguf name the same file");
  expect(existsSync(same)).toBe(false);
  const empty = join(t.dir, "empty.gguf");
  writeFileSync(empty, "");
  const p = run(["pack", "--binary", binary, "--gguf", empty, "-o", join(t.dir, "e.rts")]);
  expect(p.code).toBe(65);
  expect(p.stderr).toContain(`${empty} is empty`);
});
