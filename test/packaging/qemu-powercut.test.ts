// Power cut in a VM through scripts/qemu-powercut.ts: QEMU SIGKILLed 5 times mid-stream (cache=none disk on a real disk); every acknowledged mutation is whole after the next boot.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { bun, root } from "./helpers.ts";

test(
  "after each of 5 power cuts at seeded instants, the next boot on the same disk holds every mutation acknowledged before the cut, with no torn tensor",
  async () => {
    // The script bounds each boot (QEMU killed at --timeout); this limit also covers the build and the image.
    const proc = Bun.spawn([bun, join(root, "scripts/qemu-powercut.ts"), "--kills", "5", "--timeout", "400"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 2_600_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    // The counts per cut, in the test output.
    for (const l of stderr.split("\n")) if (/qemu-powercut: (round \d+:|in-guest|passed)/.test(l)) console.log(l);
    if (code !== 0) console.error(stderr);
    expect(code).toBe(0);
    expect(stderr).toContain("qemu-powercut: passed: 5 power cuts");
    const rounds = [...stderr.matchAll(/round (\d+): power cut (\d+) ms after the first ack: acked before kill (\d+) .*found after boot (\d+)/g)];
    expect(rounds.map((r) => Number(r[1]))).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(rounds.map((r) => r[2])).size).toBe(5); // five different instants
    for (const r of rounds) {
      expect(Number(r[3])).toBeGreaterThan(0);
      expect(Number(r[4])).toBeGreaterThanOrEqual(Number(r[3]));
    }
  },
  2_650_000,
);
