// The pre-init run by hand, not as PID 1: it mounted tmpfs over /run and /tmp and, with no /sbin/vector-boot, called reboot(RB_POWER_OFF).
import { expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { root, tempDir } from "./helpers.ts";

test("the pre-init run by hand (not PID 1) mounted tmpfs over /run and /tmp and called reboot(RB_POWER_OFF), which powers off a host; it now exits 64 and touches nothing", () => {
  const t = tempDir("preinit-not-pid1");
  try {
    // The shipped pre-init, away from the checkout.
    const preinit = join(t.dir, "init");
    copyFileSync(join(root, "dist/native/preinit"), preinit);
    // Contained even for the old code: a mount namespace of its own (its mounts die with it) and a PID
    // namespace whose init is the shell (a reboot(2) there ends that namespace, not the host). The
    // pre-init is PID 2; the shell reports its exit status and whether a mount appeared.
    const script = 'before=$(wc -l < /proc/self/mountinfo); "$1"; rc=$?; after=$(wc -l < /proc/self/mountinfo); echo "rc=$rc mounts=$((after - before))"';
    const r = Bun.spawnSync(["unshare", "--pid", "--fork", "--mount", "--propagation", "private", "sh", "-c", script, "sh", preinit], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    const out = r.stdout.toString().trim();
    const err = r.stderr.toString();
    expect({ out, shell: r.exitCode }).toEqual({ out: "rc=64 mounts=0", shell: 0 });
    expect(err).toContain("must run as PID 1");
    expect(err).not.toContain("mounted proc");
  } finally {
    t.cleanup();
  }
});
