// Boots the real executable in an initramfs under QEMU (software emulation) through scripts/qemu-smoke.ts, which is
// strict: any check that finds nothing fails the script (exit 1, console log on stderr).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { bun, root } from "./helpers.ts";

test(
  "boots under QEMU and works there: boot phases, service, live re-exec; real metabolic samples, real-time beats, cpu_pressure throttles a CPU burner and lets it go when it stops, a mutation changes the live pixel result, no worker crash, the executable's start-up pages given back, clean power-off",
  async () => {
    // The script has its own limit for QEMU (kills it); this one also covers apt, the kernel download and the build.
    const proc = Bun.spawn([bun, join(root, "scripts/qemu-smoke.ts"), "--timeout", "300"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 560_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    if (code !== 0) console.error(stderr);
    expect(code).toBe(0);
    expect(stderr).not.toContain("PENDING");
    for (const step of [
      "sampled memory total within 5 % of QEMU's -m",
      "sampled CPU count equals QEMU's -smp",
      "status-1: the beat thread's real-time window (heartbeat.beat_fifo_priority)",
      "status-1: the beat's guard thread runs",
      "cpu_pressure raised within 10 s of the burner starting",
      "the burner's CPU share dropped under the throttle",
      "the throttle was released when the burner stopped",
      "the mutation changed the live pixel result",
      "no metabolic worker crash",
      "the executable's start-up pages given back (image trimmed)",
      "kernel powered down",
    ]) {
      expect(stderr).toContain(`qemu-smoke: ok       ${step}`);
    }
    expect(stderr).toContain("qemu-smoke: passed");
  },
  600_000,
);
