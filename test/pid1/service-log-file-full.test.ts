// A service's log file that could not be written (a full or read-only disk) lost its lines without a single word: only a refused file was said.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

const mounts: string[] = [];
afterEach(() => {
  killLeftovers();
  for (const m of mounts.splice(0)) Bun.spawnSync(["umount", "-l", m]);
});

test("a service log file on a full disk (ENOSPC) lost its lines silently: said once, and when the disk has room again how many lines the file lost", async () => {
  const dir = tempDir();
  const logs = join(dir, "state", "logs");
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  // The logs directory on a 64 KiB tmpfs: the service's ~100-byte lines fill it within a second.
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "vb-test-logs", logs]).exitCode).toBe(0);
  mounts.push(logs);
  const svc = { name: "chatty", argv: ["sh", "-c", `while :; do echo "$(printf '%095d' 7)"; sleep 0.002; done`], log_file: { max_bytes: 1 << 20, keep: 1 } };
  const { run } = bootServices(dir, [svc], { heartbeat_ms: 100, heartbeat_log_every: 0 });
  await waitFor(() => run.log().includes("service log file not written"), 30_000, "the full disk said", { explain: () => run.log() });
  expect(run.log()).toMatch(/WARN supervisor: service log file not written; its lines go to the ring and the console only service=chatty file=\S+chatty\.log error=ENOSPC/);
  await Bun.sleep(300);
  expect(run.log().match(/service log file not written/g)).toHaveLength(1);
  // Room again: the file is written, and says what it lost.
  expect(Bun.spawnSync(["mount", "-o", "remount,size=8m", logs]).exitCode).toBe(0);
  await waitFor(() => /service log file written again service=chatty lines_lost=\d+/.test(run.log()), 30_000, "the file written again", { explain: () => run.log() });
  expect(Number(/lines_lost=(\d+)/.exec(run.log())![1])).toBeGreaterThan(0);
  run.proc.kill("SIGTERM");
  await run.result(30_000);
}, 60_000);
