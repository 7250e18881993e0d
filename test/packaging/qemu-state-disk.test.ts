// Two QEMU boots on one ext4 state disk through scripts/qemu-state-disk.ts: boot 1's mutation is live in boot 2, kernel.* refused in both.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { bun, root } from "./helpers.ts";

test(
  "a mutation accepted in one boot is in the live weights after a reboot on the same state disk; kernel.* is refused in both boots",
  async () => {
    // The script bounds each boot (kills QEMU at --timeout); this limit also covers apt, the kernel download and the build.
    const proc = Bun.spawn([bun, join(root, "scripts/qemu-state-disk.ts"), "--timeout", "120"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 560_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    if (code !== 0) console.error(stderr);
    expect(code).toBe(0);
    expect(stderr).toContain("qemu-state-disk: passed");
    // The steps that carry the acceptance, each judged by the script (named here so a renamed step cannot pass silently).
    for (const step of [
      /ok +boot 1: state disk mounted on \/var\/lib\/vector-boot/,
      /ok +boot 1: kernel\.\* mutation rejected: exit 65, .*"PROTECTED_TENSOR"/,
      /ok +boot 1: mutation accepted: exit 0/,
      /ok +boot 1: the disk holds a checkpoint with the mutation/,
      /ok +boot 2: evolution recovered boot 1's mutation/,
      /ok +boot 2: live pixel output after the reboot equals boot 1's after its mutation/,
      /ok +boot 2: journal position continues from the disk/,
      /ok +boot 2: kernel\.\* mutation rejected: exit 65, .*"PROTECTED_TENSOR"/,
      /ok +boot 2: mutation accepted: exit 0/,
      /ok +boot 2: kernel powered down/,
    ])
      expect(stderr).toMatch(step);
  },
  600_000,
);
