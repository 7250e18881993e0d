// A metabolic worker blocked in a read that never returns (a sensor file that hangs) cannot be terminated: each stale restart started one more, which blocked in the same read, a thread and ~3 MB of PID 1 per restart for as long as the sensor hung.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { setLogSink } from "../../src/log.ts";
import { mkfifo } from "../harness/fifo.ts";
import { tempDir } from "../pid1/harness.ts";

afterAll(() => setLogSink(null));

test("with a thermal zone whose temp never answers (a FIFO without a writer), at most two stalled workers are left behind; no third is started, and the beat goes on", async () => {
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  const sys = join(tempDir("vb-stuck-sensor-"), "sys");
  mkdirSync(join(sys, "class/thermal/thermal_zone0"), { recursive: true });
  const temp = mkfifo(join(sys, "class/thermal/thermal_zone0"), "temp");
  const hb = new Heartbeat({ periodMs: 20, config: { watchdog: false, sys_root: sys, sample_ms: 20, stale_periods: 2 } });
  hb.start();
  try {
    // The stale limit is 1 s, the restarts back off from 100 ms: the old code had started its fifth or sixth worker by 14 s.
    await Bun.sleep(14_000);
    const m = hb.stats().metabolic;
    expect(m.workerStarts).toBeLessThanOrEqual(3);
    expect(lines.some((l) => l.includes("metabolic worker not restarted: the stalled ones are still blocked"))).toBe(true);
    expect(hb.stats().state).toBe("running");
  } finally {
    // A writer's open lets every blocked read return (then EOF): the stalled workers end.
    Bun.spawnSync(["sh", "-c", ': > "$0"', temp], { timeout: 5_000 });
    await hb.stop();
  }
}, 60_000);
