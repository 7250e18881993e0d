// Boots the real executable in an initramfs under QEMU (software emulation) through scripts/qemu-smoke.ts.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { bun, root } from "./helpers.ts";

test(
  "boots under QEMU: pre-init, boot phases in order, model mapped, service, heartbeats, clean power-off",
  async () => {
    // The script has its own limit for QEMU (kills it); this one also covers apt and the kernel download.
    const proc = Bun.spawn([bun, join(root, "scripts/qemu-smoke.ts"), "--timeout", "240"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 560_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    if (code !== 0) console.error(stderr);
    expect(code).toBe(0);
    expect(stderr).toContain("qemu-smoke: passed");
    expect(stderr).toMatch(/qemu-smoke: ok +kernel powered down/);
  },
  600_000,
);
