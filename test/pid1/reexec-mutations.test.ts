// Mutations submitted while PID 1 re-execs itself are all acknowledged (the client reconnects and
// re-sends what had no completion; mutations overwrite, so a re-send is harmless) and journaled.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

const producer = `
import json, sys, time
from vector_boot_evolution import ReconnectingClient
sock, n = sys.argv[1], int(sys.argv[2])
accepted = 0
with ReconnectingClient(sock, timeout=5.0, deadline_s=60.0) as c:
    for b in range(0, n, 10):
        batch = [("pixel.0.weight", (i * 7) % 6144, [((i % 100) - 50) / 100.0], 0.9) for i in range(b, min(n, b + 10))]
        for done in c.submit_batch(batch):
            if done.status_name != "ACCEPTED":
                print("REJECTED", done.status_name, done.text, flush=True)
                sys.exit(1)
            accepted += 1
        time.sleep(0.03)  # stretch the stream over the re-execs
    print(json.dumps({"accepted": accepted, "reconnects": c.reconnects}), flush=True)
`;

test("300 mutations streamed across 5 live re-execs as PID 1 are all acknowledged and in the journal", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${state}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 15_000, "boot up");
  const script = join(dir, "producer.py");
  writeFileSync(script, producer);
  // The producer runs inside the init's PID and mount namespaces (the channel memory is /proc/1/fd/N there).
  const py = Bun.spawn(["nsenter", `--target=${init}`, "--pid", "--mount", "--", "python3", script, join(dir, "run/evolution.sock"), "300"], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe" });
  for (let i = 1; i <= 5; i++) {
    await Bun.sleep(150);
    process.kill(init, "SIGHUP");
    await waitFor(() => run.log().includes(`resuming after re-exec generation=${i} `), 10_000, `re-exec ${i}`);
    await waitFor(() => run.log().lastIndexOf("control socket listening") > run.log().indexOf(`resuming after re-exec generation=${i} `), 10_000, `image ${i} up`);
  }
  const timer = setTimeout(() => py.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(py.stdout).text(), new Response(py.stderr).text(), py.exited]);
  clearTimeout(timer);
  expect(err).toBe("");
  expect(code).toBe(0);
  const summary = JSON.parse(out.trim().split("\n").at(-1)!);
  expect(summary.accepted).toBe(300);
  expect(summary.reconnects).toBeGreaterThanOrEqual(1); // the stream really crossed a handoff
  process.kill(init, "SIGTERM");
  await run.result(15_000);
  const j = Bun.spawnSync(shipped(["journal", "inspect", "--state", state, "--json"]), { stdout: "pipe", stderr: "pipe" });
  expect(j.exitCode).toBe(0);
  const info = JSON.parse(j.stdout.toString());
  expect(JSON.stringify(info)).toMatch(/"mutations":\s*(\d+)/);
  const mutations = Number(/"mutations":\s*(\d+)/.exec(JSON.stringify(info))![1]);
  expect(mutations).toBeGreaterThanOrEqual(300);
}, 120_000);
