// pack checked the GGUF it was given by its name but copied it from the file it had opened: a well-formed GGUF renamed over a malformed one in between was checked, and the malformed one packed (exit 0).
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool } from "../../scripts/qemu-support.ts";
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { openAs } from "../harness/open-files.ts";
import { waitFor } from "../harness/wait.ts";
import { pidsRunning } from "../pid1/harness.ts";
import { fixture, prng, randomBytes, tempDir } from "./helpers.ts";

const t = tempDir("pack-replaced-gguf");
const O_NONBLOCK = 0o4000;
afterAll(() => t.cleanup());

test("a GGUF renamed over --gguf after pack opened it (a malformed one, replaced by a well-formed one of the same size): the replacement was checked and the malformed one packed, exit 0; the file opened is the one checked, exit 2", async () => {
  const binary = join(t.dir, "prog");
  writeFileSync(binary, randomBytes(6000, prng(5)));
  const model = readFileSync(fixture("ref-s1-a32.gguf"));
  const gguf = join(t.dir, "model.gguf");
  const bad = Buffer.from(model);
  bad.writeBigUInt64LE(0x7fff_ffff_ffff_ffffn, 8); // tensor_count: malformed past the magic, the same size
  writeFileSync(gguf, bad);
  const good = join(t.dir, "good.gguf");
  writeFileSync(good, model);
  const out = join(t.dir, "out.rts");
  // strace holds pack's first read of the opened GGUF (its magic) for a second: the rename lands then.
  const strace = ensureTool((line) => console.error(line), "strace", "strace");
  const argv = [exe, "pack", "--binary", binary, "--gguf", gguf, "-o", out];
  const p = Bun.spawn(hidden([strace, "-f", "-qq", "-o", join(t.dir, "trace"), "-e", "trace=pread64", "-P", gguf, "-e", "inject=pread64:delay_exit=1000000", ...argv]), { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv() });
  const killer = setTimeout(() => p.kill(9), 60_000);
  try {
    let pid = 0;
    // The descriptor pack copies from, not the brief O_NONBLOCK one its argument check opens first (a
    // rename seen after that one landed before the real open: the good file was packed, exit 0).
    const held = (): boolean => {
      const fd = openAs(pid, gguf);
      if (fd === null) return false;
      try {
        return (parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"))![1]!, 8) & O_NONBLOCK) === 0;
      } catch {
        return false;
      }
    };
    await waitFor(() => (pid = pidsRunning(argv)[0] ?? 0) !== 0 && held(), 30_000, "pack to open the GGUF", { pollMs: 2 });
    renameSync(good, gguf);
    const code = await p.exited;
    const err = await new Response(p.stderr).text();
    expect(code, err).toBe(2);
    expect(err).toContain("not a well-formed GGUF, nothing packed");
    expect(readdirSync(t.dir).filter((n) => n.startsWith("out.rts"))).toEqual([]);
  } finally {
    clearTimeout(killer);
  }
}, 90_000);
