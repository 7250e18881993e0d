// An execve that failed after the services' handover left every service's output pipe (and the sd_notify socket) open across exec: each later child inherited them, a service under another uid could read another's output.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

const O_CLOEXEC = 0o2000000;

/** The init's pipe and socket descriptors, and its state directory lock's (`state`, `state/LOCK`), that are not close-on-exec, from /proc/PID/fdinfo. */
function inheritable(pid: number): string[] {
  const out: string[] = [];
  for (const n of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(n) < 3) continue;
    let target: string;
    let flags: number;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${n}`);
      flags = parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${n}`, "utf8"))![1]!, 8);
    } catch {
      continue;
    }
    if (/^(pipe|socket):|\/state(\/LOCK)?$/.test(target) && (flags & O_CLOEXEC) === 0) out.push(`${n} -> ${target}`);
  }
  return out;
}

test("an execve that fails after the services' handover (the image made unexecutable after its preflight) left their output pipes and the sd_notify socket inheritable by every later child: they are close-on-exec again, and so is the state directory's lock (handed over at the exec)", async () => {
  const dir = tempDir();
  const bad = betweenImages(dir, "unexecutable", 'sys.exit("never runs")', "", "    os.chmod(__file__, 0o644)");
  const services = [
    { name: "a", argv: ["sh", "-c", "while :; do echo a; sleep 1; done"] },
    { name: "b", argv: ["sleep", "600"], ready: { notify: true, timeout_ms: 60_000 } },
  ];
  const { run } = bootServices(dir, services, { heartbeat_ms: 100, heartbeat_log_every: 0 }, { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("service started service=b"), 30_000, "boot up");
  expect(inheritable(init)).toEqual([]);
  // The lock is held (both descriptors open), so the check below covers it.
  expect(readdirSync(`/proc/${init}/fd`).map((n) => { try { return readlinkSync(`/proc/${init}/fd/${n}`); } catch { return ""; } }).filter((t) => /\/state(\/LOCK)?$/.test(t)).length).toBe(2);
  const r = await runShippedAsync(["reexec", bad, "--socket", join(dir, "run", "control"), "--timeout", "30000"], 60_000);
  expect(r.code).not.toBe(0);
  expect(run.log()).toContain("re-exec failed; the running image carries on");
  expect(inheritable(init)).toEqual([]);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
