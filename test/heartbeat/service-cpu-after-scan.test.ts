// A service's CPU share was its CPU time since the last reading divided by the time between two samples' starts, but read after the process scan (every procs_ms, 30-80 ms with 5,000 processes): one core read 1.4 on the scan's sample and 0.6 on the next.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";
import { hwIndexOf } from "../../src/hw/hw-mmio-layout.ts";
import { mkfifo } from "../harness/fifo.ts";
import { tempDir } from "../pid1/harness.ts";

const SERVICE_PID = 4_999_999;
// Serves the service's stat through a FIFO: at each open, CPU time that grows by exactly one core (100 ticks a second).
const WRITER = `
import sys, time
path, pid = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
while True:
    try:
        with open(path, "w") as f:
            ticks = int((time.monotonic() - t0) * 100)
            f.write("%s (svc) R 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 100 0 0\\n" % (pid, ticks))
    except BrokenPipeError:
        pass  # a reader that closed before the write (the scan's stat of every process): the next one is served
`;

const writers: { kill(): void }[] = [];
afterAll(() => writers.forEach((w) => w.kill()));

test("a service busy on exactly one core reads 1 core on every sample, also on those whose process scan took tens of ms (5,000 processes)", async () => {
  const root = join(tempDir("vb-scan-skew-"), "proc");
  for (let i = 0; i < 5000; i++) {
    mkdirSync(join(root, String(5_000_000 + i)), { recursive: true });
    writeFileSync(join(root, String(5_000_000 + i), "stat"), `${5_000_000 + i} (fake proc) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`);
  }
  mkdirSync(join(root, String(SERVICE_PID)));
  const fifo = mkfifo(join(root, String(SERVICE_PID)), "stat");
  writers.push(Bun.spawn(["python3", "-c", WRITER, fifo, String(SERVICE_PID)], { stdout: "ignore", stderr: "inherit" }));
  // Should the writer die, a read of the FIFO would block this thread for good (no test timeout can end
  // it): a last writer opens it after 45 s, so such a read ends (empty) and the test fails instead.
  writers.push(Bun.spawn(["sh", "-c", 'sleep 45; : > "$0"', fifo], { stdout: "ignore", stderr: "ignore" }));
  const s = new ProcSampler({ procRoot: root, smoothingMs: 0, procsEveryMs: 500 });
  s.setServices([{ name: "svc", pid: SERVICE_PID, state: "running", restarts: 0, throttled: false }]);
  const i = hwIndexOf("svc.0.cpu");
  const readings: { cores: number; sampleMs: number }[] = [];
  const t0 = performance.now();
  for (let k = 0; k < 32; k++) {
    const due = t0 + k * 100;
    while (performance.now() < due) await Bun.sleep(1);
    const now = performance.now();
    const cores = s.sample(now)[i]!;
    readings.push({ cores: +cores.toFixed(2), sampleMs: Math.round(performance.now() - now) });
  }
  // The first two: no previous reading yet (and the FIFO's writer starting).
  const off = readings.slice(2).filter((r) => r.cores < 0.75 || r.cores > 1.25);
  // The scans did take tens of ms here (what made the error).
  expect(Math.max(...readings.map((r) => r.sampleMs))).toBeGreaterThanOrEqual(15);
  expect({ off, readings }).toMatchObject({ off: [] });
}, 60_000);
