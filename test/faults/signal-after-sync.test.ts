// A signal in the last steps of a shutdown (after the phases, during the sync and the status line) killed a development init.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, waitFor } from "../pid1/harness.ts";
import { bootOnFullConsole } from "./full-console.ts";

afterEach(killLeftovers);

test("outside PID 1 a SIGINT after the phases had stopped (during the sync and the status line) killed the init (130, no status line, no 'shutdown complete'); the handlers stay to the end: it is ignored and the init exits 0", async () => {
  // stdout: a FIFO filled to the brim and never read, so the status line waits its 2 s for it after
  // the sync: the window in which the second signal lands.
  const { proc, log, logDone, close } = bootOnFullConsole();
  try {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 40_000);
    await waitFor(() => log().includes("first heartbeat"), 30_000, "the boot");
    proc.kill("SIGTERM");
    await waitFor(() => log().includes("shutdown: synced") || proc.exitCode !== null, 20_000, "the shutdown's sync");
    proc.kill("SIGINT");
    const code = await proc.exited;
    clearTimeout(timer);
    await logDone;
    expect({ code, signal: proc.signalCode }).toEqual({ code: 0, signal: null });
    expect(log()).toContain("shutdown already under way: request ignored reason=SIGINT");
    expect(log()).toContain("status line not written to the console");
    expect(log()).toContain("shutdown complete status=0");
  } finally {
    close();
  }
}, 60_000);
