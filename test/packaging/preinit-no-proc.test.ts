// The pre-init as PID 1 where /proc cannot be mounted: it exec'd the Bun executable anyway, which aborts without /proc (PID 1 dead: a kernel panic, no word of why).
import { expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../harness/wait.ts";
import { root, tempDir } from "./helpers.ts";

test("the pre-init as PID 1 whose /proc mount was refused said it had mounted proc, sys, dev ... and exec'd /sbin/vector-boot, which aborted (SIGILL, PID 1 gone): it says /proc is not mounted and powers off instead of exec'ing", async () => {
  const t = tempDir("preinit-no-proc");
  try {
    const preinit = join(t.dir, "init");
    copyFileSync(join(root, "dist/native/preinit"), preinit);
    // PID 1 of a new PID namespace, then in a user namespace that does not own it: mounting proc is
    // refused (EPERM); the /proc it sees is an empty tmpfs. Its reboot(2) is refused too (it pauses).
    const script = 'exec unshare --user --map-root-user --mount sh -c "mount -t tmpfs none /proc && exec \\"\\$0\\"" "$0"';
    const p = Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "sh", "-c", script, preinit], { stdout: "pipe", stderr: "pipe" });
    let err = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const c of p.stderr) err += dec.decode(c, { stream: true });
    })();
    try {
      await waitFor(() => err.includes("powering off") || err.includes("exec /sbin/vector-boot"), 20_000, "the pre-init's verdict", { explain: () => err });
      await Bun.sleep(300);
      expect(err).toContain("mount /proc failed");
      expect(err).toContain("/proc is not mounted: /sbin/vector-boot cannot start without it; powering off");
      expect(err).not.toContain("exec /sbin/vector-boot");
      expect(err).not.toMatch(/mounted .*\/proc/);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
  } finally {
    t.cleanup();
  }
}, 60_000);
