// The pre-init as PID 1 where /proc cannot be mounted: it exec'd the Bun executable anyway, which aborts without /proc (PID 1 dead: a kernel panic, no word of why).
import { expect, test } from "bun:test";
import { waitFor } from "../harness/wait.ts";
import { tempDir } from "./helpers.ts";
import { spawnPreinitWithoutProc } from "./preinit-without-proc.ts";

test("the pre-init as PID 1 whose /proc mount was refused said it had mounted proc, sys, dev ... and exec'd /sbin/vector-boot, which aborted (SIGILL, PID 1 gone): it says /proc is not mounted and powers off instead of exec'ing", async () => {
  const t = tempDir("preinit-no-proc");
  try {
    const p = spawnPreinitWithoutProc(t.dir);
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
