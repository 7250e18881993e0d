// scripts/vm-run.ts under QEMU: the main service's exit status leaves the VM through the virtio-serial port (docker-run style), else the console.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStatusLine } from "../../src/boot/exit-status.ts";
import { bun, root, tempDir } from "./helpers.ts";

/** One `vm-run -- CMD` (its own QEMU limit kills the guest at --timeout; this one also covers the build). */
async function vmRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([bun, join(root, "scripts/vm-run.ts"), "--timeout", "120", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
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
      const r = await vmRun(["--", "sh", "-c", script]);
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

test(
  "an image without virtio_console (no status port in the guest) still gives vm-run the main service's status, from the console line",
  async () => {
    const t = tempDir("vm-run");
    try {
      const config = join(t.dir, "config.json");
      // vector-boot's own CLI without arguments: a usage error, exit 64.
      writeFileSync(config, JSON.stringify({ services: [{ name: "app", argv: ["/sbin/vector-boot", "pixels"], main: true }] }));
      const img = join(t.dir, "initramfs.cpio.zst");
      const build = Bun.spawnSync([bun, join(root, "scripts/build-initramfs.ts"), "--config", config, "-o", img], { cwd: root, stdout: "pipe", stderr: "pipe" });
      expect(build.exitCode).toBe(0);
      const r = await vmRun(["--initrd", img]);
      if (r.code !== 64) console.error(r.stderr);
      expect(r.code).toBe(64);
      expect(parseStatusLine(r.stdout)).toMatchObject({ reason: "main-exited", service: "app", code: 64, signal: null, exit: 64 });
      expect(r.stderr).toContain("vm-run: status line from the console after");
    } finally {
      t.cleanup();
    }
  },
  240_000,
);
