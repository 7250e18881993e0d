// The status line of the shutdown, written to a console that does not drain: bounded, as the shutdown is.
import { afterEach, expect, test } from "bun:test";
import { childrenOf, killLeftovers, waitFor } from "../pid1/harness.ts";
import { bootOnFullConsole } from "./full-console.ts";

afterEach(killLeftovers);

test("as PID 1, a console (stdout) that does not drain held the shutdown forever at the status line, never reaching reboot(2); the line is given up after its 2 s and the machine powers off", async () => {
  // stdout: a FIFO filled to the brim and never read, as a console stopped by XOFF or a host not reading.
  const { proc, log, logDone, close } = bootOnFullConsole({ pid1: true });
  try {
    let init = 0;
    await waitFor(() => (init = childrenOf(proc.pid)[0] ?? 0) > 0, 10_000, "the namespace's PID 1");
    await waitFor(() => log().includes("first heartbeat"), 30_000, "the boot");
    process.kill(init, "SIGTERM");
    const timer = setTimeout(() => {
      for (const c of childrenOf(proc.pid)) process.kill(c, "SIGKILL");
    }, 20_000);
    const code = await proc.exited;
    clearTimeout(timer);
    await logDone;
    expect(log()).toContain("status line not written to the console");
    expect(log()).toContain("poweroff now");
    // reboot(2) in a PID namespace: its init dies of SIGINT for a power-off (unshare 130).
    expect(code).toBe(130);
  } finally {
    close();
  }
}, 60_000);
