// As PID 1 the pre-init exec'd the init with every signal unblocked: a SIGTERM in the init's first milliseconds (Bun's start, before its handlers) found the default action, which the kernel drops for PID 1.
import { expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { root, tempDir } from "./helpers.ts";

test("the pre-init exec'd the init with SIGTERM unblocked, so a SIGTERM before the init's handlers was dropped by the kernel (PID 1, default action); it is now blocked across the exec and stays pending for them", () => {
  const t = tempDir("preinit-early-signal");
  try {
    const preinit = join(t.dir, "init");
    copyFileSync(join(root, "dist/native/preinit"), preinit);
    // The "init" the pre-init execs (/sbin/vector-boot, a directory bound over /sbin in a mount
    // namespace of its own): Python (a shell clears its signal mask as it starts), PID 1 of its PID
    // namespace as the real init is, that sends itself SIGTERM before it has any handler and
    // reports its mask and whether the signal waits.
    const sbin = join(t.dir, "sbin");
    mkdirSync(sbin);
    const fake = join(sbin, "vector-boot");
    writeFileSync(fake, `#!${python}\nimport os, signal\nos.kill(os.getpid(), signal.SIGTERM)\nprint(open("/proc/self/status").read())\nprint("alive pid=%d" % os.getpid())\n`);
    chmodSync(fake, 0o755);
    const script = 'mount --bind "$1" /sbin || exit 125; exec "$2"';
    const r = Bun.spawnSync(["unshare", "--pid", "--fork", "--mount", "--propagation", "private", "sh", "-c", script, "sh", sbin, preinit], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    const out = r.stdout.toString();
    const err = r.stderr.toString();
    expect(err).toContain("started (pid 1)");
    expect(out).toContain("alive pid=1");
    const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s+([0-9a-f]+)`, "m").exec(out)?.[1] ?? "0"}`);
    const bit = (sig: number) => 1n << BigInt(sig - 1);
    for (const sig of [1, 2, 3, 10, 12, 15]) expect(mask("SigBlk") & bit(sig)).toBe(bit(sig)); // HUP INT QUIT USR1 USR2 TERM
    expect(mask("SigBlk") & bit(30)).toBe(bit(30)); // SIGPWR: JSC's GC signal is moved to 40 by the pre-init
    expect(mask("SigBlk") & bit(40)).toBe(0n); // the GC's own signal is never blocked
    expect(mask("ShdPnd") & bit(15)).toBe(bit(15)); // the early SIGTERM waits instead of being dropped
  } finally {
    t.cleanup();
  }
});
