// A damaged executable (its model's trailer fails its CRC) gets one exit code from boot, verify and inspect: 65, the status line's too.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStatusLine } from "../../src/boot/exit-status.ts";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";
import { TRAILER_SIZE } from "../../src/rts/embed.ts";

const dir = tempDir("damaged-exe-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `argv` with the checkout hidden (as PID 1 of a PID namespace when `pid1`). */
function run(argv: string[], pid1 = false) {
  const r = Bun.spawnSync(hidden(argv, { pid1 }), { stdout: "pipe", stderr: "pipe", timeout: 60_000, cwd: dir, env: shippedEnv() });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), out: r.stdout.toString() + r.stderr.toString() };
}

/** A copy of the shipped executable whose trailer has one reserved byte flipped: its CRC-32 no longer matches. */
function damagedCopy(): string {
  const path = join(dir, "vector-boot");
  copyFileSync(exe, path);
  const b = readFileSync(path);
  b[statSync(path).size - TRAILER_SIZE + 80]! ^= 1;
  writeFileSync(path, b, { mode: 0o755 });
  return path;
}

test("boot of an executable whose embedded model's trailer fails its CRC exited 1 (verify and inspect: 65): it exits 65, and as PID 1 its status line leaves 65", () => {
  const bad = damagedCopy();
  for (const cmd of ["verify", "inspect"]) {
    const r = run([exe, cmd, bad]);
    expect({ cmd, code: r.code }).toEqual({ cmd, code: 65 });
    expect(r.out).toContain("trailer.crc32");
  }
  const boot = run([bad, "boot", "--set", "pixel_test=false", "--set", "shutdown_after=1", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`]);
  expect(boot.out).toContain("trailer.crc32");
  // The file, not /proc/self/exe (every executable's name for itself).
  expect(boot.out).toContain(`(in ${bad}, `);
  expect(boot.out).not.toContain("/proc/self/exe,");
  expect(parseStatusLine(boot.stdout)).toMatchObject({ reason: "boot failed", exit: 65 });
  expect(boot.code).toBe(65);
  // PID 1 does not exit: it shuts down in order and powers off; the status that leaves the machine is the line's.
  const pid1 = run([bad, "boot", "--set", "pixel_test=false", "--set", `state_dir=${join(dir, "state1")}`], true);
  expect(pid1.out).toContain("mode=pid1");
  expect(pid1.out).toContain("trailer.crc32");
  expect(pid1.out).toMatch(/shutdown: phase shutdown reason="boot failed" mode=poweroff/);
  expect(parseStatusLine(pid1.stdout)).toMatchObject({ reason: "boot failed", exit: 65 });
}, 120_000);
