// Metabolic worker entry: samples /proc into hw.mmio (SharedArrayBuffer) and runs throttles and memory relief.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HwMmioWriter, monoMs } from "./hw-mmio-buffer.ts";
import type { FromWorker, ToWorker, WorkerSettings } from "./metabolic-protocol.ts";
import { ProcSampler, type ServiceSlotInfo } from "./proc-sampler.ts";
import { DutyCycler } from "./throttle.ts";
import { jitInteractive } from "../util/jit-policy.ts";

jitInteractive(); // a worker runs hot from the start (the executable starts reluctant to JIT)

const port = globalThis as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const send = (m: FromWorker) => port.postMessage(m);

let settings: WorkerSettings | null = null;
let sampler: ProcSampler | null = null;
let writer: HwMmioWriter | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let services: ServiceSlotInfo[] = [];
let nextDue = 0;
let lastErrorAt = -Infinity;

const onGone = (name: string, pid: number) => send({ type: "throttle-ended", name, pid, reason: "process gone" });
let cycler = new DutyCycler(onGone);

function tick(): void {
  timer = null;
  if (!settings || !sampler || !writer) return;
  const now = monoMs();
  try {
    for (const s of services) s.throttled = cycler.has(s.name);
    writer.publish(sampler.sample(now), now);
  } catch (err) {
    // A sampling failure is reported (at most once a second) and the next sample is tried as usual.
    if (now - lastErrorAt > 1000) {
      lastErrorAt = now;
      send({ type: "sample-error", error: String(err) });
    }
  }
  nextDue += settings.sampleMs;
  const after = monoMs();
  if (nextDue < after) nextDue = after + settings.sampleMs / 2; // late: no burst of catch-up samples
  timer = setTimeout(tick, nextDue - after);
}

function relieveMemory(root: string): string {
  const done: string[] = [];
  for (const [file, value] of [["sys/vm/drop_caches", "1"], ["sys/vm/compact_memory", "1"]] as const) {
    try {
      writeFileSync(join(root, file), value);
      done.push(`${file}=${value}`);
    } catch (err) {
      done.push(`${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return done.join(", ");
}

port.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "init": {
      settings = m.settings;
      sampler = new ProcSampler({ procRoot: m.settings.procRoot, sysRoot: m.settings.sysRoot, smoothingMs: m.settings.smoothingMs, procsEveryMs: m.settings.procsMs, pageSize: m.settings.pageSize });
      sampler.setServices(services);
      writer = new HwMmioWriter(m.settings.sab);
      cycler = new DutyCycler(onGone, { procRoot: m.settings.procRoot, sysRoot: m.settings.sysRoot });
      nextDue = monoMs();
      send({ type: "ready", generation: writer.generation });
      tick();
      break;
    }
    case "services":
      services = m.list;
      sampler?.setServices(services);
      break;
    case "throttle": {
      const how = cycler.start(m.name, { pid: m.pid, groups: m.groups }, m.duty, m.periodMs);
      const cpuMax = cycler.cpuMax(m.name);
      if (cpuMax) send({ type: "cpu-max", name: m.name, pid: m.pid, file: cpuMax.file, previous: cpuMax.previous });
      send({ type: "action", action: "throttle", name: m.name, ok: how !== null, detail: how ? `pid ${m.pid}: ${how}` : `pid ${m.pid} not found` });
      break;
    }
    case "unthrottle": {
      const how = cycler.mechanism(m.name);
      const was = cycler.release(m.name);
      send({ type: "action", action: "unthrottle", name: m.name, ok: was, detail: !was ? "was not throttled" : how === "cgroup" ? "cpu.max restored" : "SIGCONT, duty cycle ended" });
      break;
    }
    case "relieve-memory":
      send({ type: "action", action: "relieve-memory", name: m.reason, ok: true, detail: relieveMemory(settings?.procRoot ?? "/proc") });
      break;
    case "shutdown":
      if (timer) clearTimeout(timer);
      timer = null;
      cycler.releaseAll();
      send({ type: "stopped" });
      break;
  }
};
