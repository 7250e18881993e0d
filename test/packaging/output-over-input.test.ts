// An output that is one of the command's own inputs, and a command with two outputs that wrote one of them.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, runShipped, shippedEnv } from "../harness/artifact.ts";
import { fixture, prng, randomBytes, tempDir } from "./helpers.ts";

const t = tempDir("out-over-in");
afterAll(() => t.cleanup());
const gguf = fixture("ref-s1-a32.gguf");
const binary = join(t.dir, "prog");
writeFileSync(binary, randomBytes(5000, prng(11)));
const run = (args: string[], cwd?: string) => runShipped(args, { timeoutMs: 60_000, cwd });

test("an output naming an input replaced it (unpack x.rts --gguf x.rts left the model in place of the package; pack -o over --binary; initramfs -o over the executable itself left a cpio where vector-boot was): refused, exit 64, the input intact", () => {
  const rts = join(t.dir, "x.rts");
  expect(run(["pack", "--binary", binary, "--gguf", gguf, "-o", rts]).code).toBe(0);
  const pkg = readFileSync(rts);
  const link = join(t.dir, "x-link.rts");
  symlinkSync(rts, link);
  const hard = join(t.dir, "x-hard.rts");
  linkSync(rts, hard);
  const cases: Array<[string[], string]> = [
    [["unpack", rts, "--gguf", rts], "is the package being unpacked"],
    [["unpack", link, "--binary", hard], "is the package being unpacked"],
    [["pack", "--binary", binary, "--gguf", gguf, "-o", binary], "is the binary to pack"],
    [["pack", "--binary", binary, "--gguf", rts, "-o", hard], "is the GGUF to pack"],
  ];
  for (const [args, says] of cases) {
    const r = run(args);
    expect({ args, code: r.code }).toEqual({ args, code: 64 });
    expect(r.stderr).toContain(says);
    expect(r.stderr).toContain("writing it would replace an input");
  }
  expect(Buffer.compare(readFileSync(rts), pkg)).toBe(0);
  expect(readFileSync(binary).length).toBe(5000);

  // The shipped executable installs itself by default: an image written over it replaced it (0644, a cpio).
  const own = join(t.dir, "own");
  mkdirSync(own);
  copyFileSync(exe, join(own, "vector-boot"));
  Bun.spawnSync(["chmod", "755", join(own, "vector-boot")]);
  const self = Bun.spawnSync(hidden([join(own, "vector-boot"), "initramfs", "--compress", "none", "-o", "vector-boot"]), { cwd: own, env: shippedEnv(), stderr: "pipe", timeout: 60_000 });
  expect(self.exitCode).toBe(64);
  expect(self.stderr.toString()).toContain("is the executable to install");
  const cfg = join(t.dir, "c.json");
  writeFileSync(cfg, "{}\n");
  const overConfig = run(["initramfs", "--compress", "none", "--config", cfg, "-o", cfg]);
  expect(overConfig.code).toBe(64);
  expect(overConfig.stderr).toContain("is the config to install");
  const overFile = run(["initramfs", "--compress", "none", "--file", `${binary}:/opt/prog`, "-o", binary]);
  expect(overFile.code).toBe(64);
  expect(overFile.stderr).toContain("is the file to install as /opt/prog");
  expect(readFileSync(cfg, "utf8")).toBe("{}\n");
  expect(readFileSync(join(own, "vector-boot")).length).toBe(readFileSync(exe).length);
  expect(readdirSync(own)).toEqual(["vector-boot"]);
}, 120_000);

test("unpack wrote the binary, then refused the GGUF's output (a directory there) and exited 64 with the binary left behind: both outputs are checked first, and written both or neither", () => {
  const rts = join(t.dir, "y.rts");
  expect(run(["pack", "--binary", binary, "--gguf", gguf, "-o", rts]).code).toBe(0);
  const out = join(t.dir, "out");
  mkdirSync(join(out, "y.gguf"), { recursive: true });
  const r = run(["unpack", rts, "-C", out]);
  expect(r.code).toBe(64);
  expect(r.stderr).toContain(`${join(out, "y.gguf")} is a directory`);
  expect(readdirSync(out)).toEqual(["y.gguf"]);
  expect(existsSync(join(out, "y.bin"))).toBe(false);
  // With nothing in the way both are written.
  const ok = join(t.dir, "ok");
  mkdirSync(ok);
  expect(run(["unpack", rts, "-C", ok]).code).toBe(0);
  expect(readdirSync(ok).sort()).toEqual(["y.bin", "y.gguf"]);
  expect(Buffer.compare(readFileSync(join(ok, "y.gguf")), readFileSync(gguf))).toBe(0);
}, 60_000);
