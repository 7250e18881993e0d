// scripts/vm-run.ts under QEMU: the main service's exit status leaves the VM through the virtio-serial port (docker-run style).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { parseStatusLine } from "../../src/boot/exit-status.ts";
import { bun, root } from "./helpers.ts";

/** One `vm-run -- CMD` (its own QEMU limit kills the guest at --timeout; this one also covers the build). */
async function vmRun(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([bun, join(root, "scripts/vm-run.ts"), "--timeout", "120", "--", ...cmd], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 170_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test(
  "a VM whose main service exits 0, 3 or dies of SIGKILL makes vm-run exit 0, 3 and 137 (status read from the virtio-serial port, not lost at power-off)",
  async () => {
    for (const [script, code, signal, exit] of [
      ["echo vm-run-main; exit 3", 3, null, 3],
      ["kill -KILL $$", null, 9, 137],
      ["exit 0", 0, null, 0],
    ] as const) {
      const r = await vmRun(["sh", "-c", script]);
      if (r.code !== exit) console.error(r.stderr);
      expect(r.code).toBe(exit);
      expect(parseStatusLine(r.stdout)).toMatchObject({ reason: "main-exited", service: "main", code, signal, exit });
      expect(r.stderr).toContain(`vm-run: status line from the virtio-serial port vector-boot.status after`);
      // The ordered shutdown ran before the power-off.
      expect(r.stderr).toMatch(/shutdown: phase shutdown reason=main-exited mode=poweroff[\s\S]*shutdown: poweroff now[\s\S]*reboot: Power down/);
      if (exit === 3) expect(r.stderr).toContain("main: vm-run-main");
    }
  },
  540_000,
);
