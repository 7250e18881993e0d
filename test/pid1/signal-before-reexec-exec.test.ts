// A SIGTERM that arrived in the synchronous stretch before a live re-exec's execve (the handoff file's write) was queued by Bun for a loop turn that never came, and lost with the old image.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool } from "../../scripts/qemu-support.ts";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

/** Whether every thread of `pid` is traced (strace -f has attached to all of them). */
function traced(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return !/^TracerPid:\s+0$/m.test(status);
  } catch {
    return false;
  }
}

/**
 * Boots as PID 1, asks a live re-exec (SIGHUP) and sends `sig` while the old image writes its handoff:
 * the handoff file of generation 1 by PID 1 has its open return 1.5 s late (strace), which holds the
 * old image inside the synchronous stretch that ends with the execve, the file already created.
 * Returns once the new image has resumed.
 */
async function signalDuringHandoffWrite(sig: NodeJS.Signals) {
  const dir = tempDir();
  const runDir = join(dir, "run");
  const run = start(["boot", "--set", `run_dir=${runDir}`, "--set", `state_dir=${join(dir, "state")}`, "--set", "heartbeat_ms=50", "--set", "heartbeat_log_every=0", "--set", "pixel_test=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const handoff = join(runDir, "handoff-1-1.json");
  const strace = ensureTool((line) => console.error(line), "strace", "strace");
  const tracer = Bun.spawn([strace, "-f", "-qq", "-p", String(init), "-o", join(dir, "trace"), "-e", "trace=openat", "-P", handoff, "-e", "inject=openat:delay_exit=1500000"], { stdout: "ignore", stderr: "pipe" });
  cleanups.push(() => tracer.kill("SIGKILL"));
  await waitFor(() => traced(init), 10_000, "strace attached");
  process.kill(init, "SIGHUP");
  await waitFor(() => existsSync(handoff), 30_000, "the handoff file created (its open held by strace)", { pollMs: 2 });
  process.kill(init, sig);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the new image", { explain: () => run.log() });
  tracer.kill("SIGTERM");
  return { run, init };
}

test("a SIGTERM sent while a live re-exec wrote its handoff (after the last await, before the execve) was lost: the new image ran on and never shut down; it now waits, pending across the exec, and the new image shuts down", async () => {
  const { run } = await signalDuringHandoffWrite("SIGTERM");
  await waitFor(() => /resuming after re-exec generation=1 [^]*shutdown requested reason=SIGTERM/.test(run.log()), 15_000, "the new image to take the SIGTERM", { explain: () => run.log().split("resuming after re-exec generation=1 ")[1] ?? run.log() });
  const r = await run.result(30_000);
  expect(r.stderr).toContain("poweroff now");
}, 120_000);

test("a SIGHUP sent while a live re-exec wrote its handoff reached the new image before its boot could act on one (taken at the signals phase, with no re-exec handler yet) and was dropped; the new image re-execs once its boot is ready", async () => {
  const { run, init } = await signalDuringHandoffWrite("SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=2 "), 15_000, "the second re-exec, asked by the carried SIGHUP", { explain: () => run.log().split("resuming after re-exec generation=1 ")[1] ?? run.log() });
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).stderr).toContain("poweroff now");
}, 120_000);
