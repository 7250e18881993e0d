// The pre-init as a container's PID 1 (no CAP_SYS_BOOT) with nothing to run: its reboot(2) was refused and it paused for ever, so the container never ended (SIGTERM reaches no PID 1 without a handler).
import { expect, test } from "bun:test";
import { tempDir } from "./helpers.ts";
import { spawnPreinitWithoutProc } from "./preinit-without-proc.ts";

test("a pre-init whose power-off was refused (reboot(2) without CAP_SYS_BOOT) paused for ever; it says so and exits 1, which ends its PID namespace", async () => {
  const t = tempDir("preinit-reboot-refused");
  try {
    // /proc cannot be mounted (the pre-init powers off) and reboot(2) is refused (EPERM).
    const p = spawnPreinitWithoutProc(t.dir);
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    clearTimeout(timer);
    expect(err).toContain("powering off");
    expect(err).toMatch(/reboot\(RB_POWER_OFF\) failed: [^;]+; exiting/);
    expect(code).toBe(1);
  } finally {
    t.cleanup();
  }
}, 60_000);
