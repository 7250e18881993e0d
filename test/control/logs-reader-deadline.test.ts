// The shutdown's wait for `logs` followers (control/server.ts closeAfterFollowers) came out of the shutdown deadline, after the services and before the journal's flush.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a Python client that read logs once and kept its connection made the shutdown wait for it to the end of the deadline: the phases after the control socket were skipped and its file was left behind", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  // Stopping the services takes its whole 1 s grace (SIGTERM ignored); the whole shutdown has 1.8 s.
  const stubborn = { name: "stubborn", argv: ["sh", "-c", "trap '' TERM; echo up >&2; while :; do sleep 0.05; done"], grace_ms: 1000 };
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), shutdown_deadline_ms: 1800, grace_ms: 1000, services: [stubborn] });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("phase heartbeat") && run.log().includes("stubborn: up\n"), 30_000, "boot");
  // One logs request, then the connection is held open (a monitoring script, not a `logs -f` poller).
  const py = Bun.spawn(["python3", "-c", `import sys, time
from vector_boot_evolution.control import ControlClient
c = ControlClient(${JSON.stringify(sock)})
c.logs("stubborn", limit=1)
print("read", flush=True)
time.sleep(60)`], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe" });
  try {
    let said = "";
    const reader = py.stdout.getReader();
    while (!said.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      said += new TextDecoder().decode(chunk.value);
    }
    expect({ said, stderr: said === "read\n" ? "" : await new Response(py.stderr).text() }).toEqual({ said: "read\n", stderr: "" });
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(30_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("stopped phase=services");
    // The courtesy wait for followers must leave the later phases their share of the deadline.
    expect(r.stderr).not.toMatch(/shutdown deadline passed[^\n]*phase=(control|evolution)/);
    expect(r.stderr).toContain("stopped phase=evolution");
    expect(r.stderr).toContain("stopped phase=reaper");
    expect(r.stderr).toContain("control socket closed");
    expect(existsSync(sock)).toBe(false);
  } finally {
    py.kill("SIGKILL");
  }
}, 60_000);
