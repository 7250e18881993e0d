// Main-thread side of the metabolic daemon: runs the worker, restarts it when it dies, relays actions.
import { logger } from "../log.ts";
import { workerEntry } from "../util/bundle.ts";
import { createHwMmioBuffer, HwMmioReader } from "./hw-mmio-buffer.ts";
import { hwIndexOf } from "../hw/hw-mmio-layout.ts";
import { type FromWorker, fromWorkerSchema, type ToWorker } from "./metabolic-protocol.ts";
import type { ServiceSlotInfo } from "./proc-sampler.ts";
import { signalService, throttleTarget, type ThrottleTarget } from "./throttle.ts";
import { releaseCpuMax } from "./cgroup-throttle.ts";
import { WorkerSilence } from "./worker-silence.ts";
import { pageSize } from "../sys/mmap.ts";

/** The kernel's page size, 4096 when the shim cannot say. */
function kernelPageSize(): number {
  try {
    return pageSize();
  } catch {
    return 4096;
  }
}

const log = logger("metabolic");

/** Stalled workers that may still be blocked (each a thread) before no new one is started. */
const MAX_STUCK_WORKERS = 2;
const SIGCONT = 18;

export interface MetabolicOptions {
  procRoot?: string;
  sysRoot?: string;
  sampleMs: number;
  smoothingMs: number;
  /** Process and zombie counts refreshed at most this often (ms; default 0: every sample). */
  procsMs?: number;
  /** First restart delay after a crash; doubles per consecutive crash up to 5 s. */
  restartMs?: number;
  /** Worker entry (default: ./metabolic-worker.ts next to this module; works in the compiled executable). */
  workerUrl?: string;
  /** Called for every message of the worker (after validation), e.g. to log actions. */
  onMessage?: (m: FromWorker) => void;
  /** Called when the worker died unexpectedly (before it is restarted). */
  onCrash?: (crashes: number) => void;
}

/** The worker's entry point, from the embedded bundle when compiled (src/util/bundle.ts). */
export function metabolicWorkerUrl(): string {
  return workerEntry("heartbeat/metabolic-worker.ts", new URL("./metabolic-worker.ts", import.meta.url));
}

/** hw.mmio fields reported in `stats().sample`: what an operator (or a test) checks the worker's samples against. */
const SAMPLE_FIELDS = ["cpu.count", "cpu.total", "mem.total_mib", "mem.available_mib", "psi.cpu.some_avg10", "flags"] as const;
const sampleIndex = SAMPLE_FIELDS.map((n) => [n, hwIndexOf(n)] as const);

export interface MetabolicStats {
  workerStarts: number;
  workerCrashes: number;
  running: boolean;
  samples: number;
  sampleAgeMs: number;
  /** The current worker has said ready (it loaded and samples). */
  workerReady: boolean;
  /**
   * How long the current worker has gone without a sample the beat saw: since its newest one, else since it said
   * ready, else since it was started (-1: no worker). What a stall is judged on: the previous worker's last sample
   * and a slow start (seconds under emulation) are not the current worker's stall.
   */
  quietMs: number;
  throttled: string[];
  /** A few fields of the newest sample the beat read, by hw.mmio name; null before the first. */
  sample: Record<(typeof SAMPLE_FIELDS)[number], number> | null;
}

export class MetabolicDaemon {
  readonly sab = createHwMmioBuffer();
  readonly reader = new HwMmioReader(this.sab);
  private worker: Worker | null = null;
  private readonly silence = new WorkerSilence();
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private consecutiveCrashes = 0;
  private stopping = false;
  private starts = 0;
  private crashes = 0;
  private services: ServiceSlotInfo[] = [];
  /** Services we asked the worker to throttle (pid and process groups), to SIGCONT them if the worker dies. */
  private readonly throttles = new Map<string, ThrottleTarget & { duty: number; periodMs: number }>();
  /**
   * cpu.max limits the current worker applied (file and what it held before): restored here when the
   * worker dies or hangs. It used to be left at the limit, and the next worker took the limit for the
   * value to restore, so the service stayed throttled for good after its interrupt cleared.
   */
  private readonly cpuMax = new Map<string, { pid: number; file: string; previous: string }>();

  /** Workers given up as stalled that have not closed yet (blocked in a system call). */
  private stuck = 0;
  /** A restart waits for one of them to close. */
  private waitingForStuck = false;

  constructor(private readonly opts: MetabolicOptions) {}

  start(): void {
    this.stopping = false;
    this.spawn();
  }

  private spawn(): void {
    this.restartTimer = null;
    if (this.stopping) return;
    // Workers terminated while blocked in a read (a sensor that never answers) live on until it
    // returns, and each replacement blocked in the same read: a thread and ~3 MB more per restart.
    if (this.stuck >= MAX_STUCK_WORKERS) {
      if (!this.waitingForStuck) log.warn("metabolic worker not restarted: the stalled ones are still blocked (a read that does not return); samples stay stale until one ends", { stuck: this.stuck });
      this.waitingForStuck = true;
      return;
    }
    const url = this.opts.workerUrl ?? metabolicWorkerUrl();
    let w: Worker;
    try {
      w = new Worker(url);
    } catch (err) {
      log.error("cannot start the metabolic worker", { error: String(err) });
      this.scheduleRestart();
      return;
    }
    this.worker = w;
    this.silence.spawned();
    this.starts++;
    w.addEventListener("message", (e: MessageEvent) => this.onMessage(e.data));
    w.addEventListener("error", (e: Event) => {
      // Bun formats the message with a source excerpt; keep the "error: ..." line and the first frame.
      const msg = (e as ErrorEvent).message ?? String(e);
      const lines = msg.split("\n").map((l) => l.trim());
      const at = lines.findIndex((l) => /^(\w*error|\w+Error):/i.test(l));
      log.error("metabolic worker crashed", { error: at >= 0 ? lines.slice(at, at + 2).join(" ") : msg.slice(0, 300) });
    });
    w.addEventListener("close", (e: Event) => {
      if (this.worker !== w) return;
      this.lost("worker exited", () => log.warn("metabolic worker exited; restarting", { code: (e as CloseEvent).code ?? null, crashes: this.crashes }));
    });
    const { procRoot = "/proc", sysRoot = "/sys", sampleMs, smoothingMs, procsMs = 0 } = this.opts;
    this.post({ type: "init", settings: { sab: this.sab, procRoot, sysRoot, sampleMs, smoothingMs, procsMs, pageSize: kernelPageSize() } });
    this.post({ type: "services", list: this.services });
    for (const [name, t] of this.throttles) this.post({ type: "throttle", name, ...t });
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer) return;
    const delay = Math.min(5000, (this.opts.restartMs ?? 100) * 2 ** this.consecutiveCrashes);
    this.consecutiveCrashes++;
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }

  private onMessage(raw: unknown): void {
    const r = fromWorkerSchema().safeParse(raw);
    if (!r.success) {
      log.warn("unexpected message from the metabolic worker", { problem: r.error.issues[0]?.message ?? "invalid" });
      return;
    }
    const m = r.data;
    if (m.type === "ready") {
      this.silence.ready();
      log.info("metabolic worker ready", { generation: m.generation });
    } else if (m.type === "sample-error") log.warn("sampling failed", { error: m.error });
    else if (m.type === "cpu-max") {
      if (this.throttles.get(m.name)?.pid === m.pid) this.cpuMax.set(m.name, { pid: m.pid, file: m.file, previous: m.previous });
    } else if (m.type === "action" && m.action === "relieve-memory") {
      this.silence.reliefAnswered();
    } else if (m.type === "throttle-ended") {
      this.throttles.delete(m.name);
      this.cpuMax.delete(m.name);
      log.info("throttle ended", { service: m.name, pid: m.pid, reason: m.reason });
    }
    this.opts.onMessage?.(m);
  }

  private post(m: ToWorker): void {
    try {
      this.worker?.postMessage(m);
    } catch (err) {
      log.warn("cannot message the metabolic worker", { type: m.type, error: String(err) });
    }
  }

  /** The supervisor's view of the services (slot order); sent to the worker when it changes. */
  setServices(list: ServiceSlotInfo[]): void {
    this.services = list;
    this.post({ type: "services", list });
  }

  /** Throttles service `name`, whose main process is `pid` and whose run's process groups are `groups` (none: the group `pid` leads). */
  throttle(name: string, pid: number, duty: number, periodMs: number, groups: readonly number[] = []): void {
    // Start times now: the release's SIGCONT skips a group or main pid whose number names another process by then.
    this.throttles.set(name, { ...throttleTarget(pid, groups), duty, periodMs });
    this.post({ type: "throttle", name, pid, groups: [...groups], duty, periodMs });
  }

  unthrottle(name: string): void {
    this.cpuMax.delete(name); // the worker restores it
    if (!this.throttles.delete(name)) return;
    this.post({ type: "unthrottle", name });
  }

  isThrottled(name: string): boolean {
    return this.throttles.has(name);
  }

  /** The process groups a service was throttled with (empty: not throttled). */
  throttledGroups(name: string): readonly number[] {
    return this.throttles.get(name)?.groups ?? [];
  }

  /** Pid a service was throttled under, or null. */
  throttledPid(name: string): number | null {
    return this.throttles.get(name)?.pid ?? null;
  }

  relieveMemory(reason: string): void {
    this.silence.reliefAsked();
    this.post({ type: "relieve-memory", reason });
  }

  private releaseThrottles(why: string): void {
    for (const [name, c] of this.cpuMax) {
      if (releaseCpuMax({ file: c.file, previous: c.previous, applied: "" })) log.info("throttled service's cpu.max restored", { service: name, pid: c.pid, file: c.file, value: c.previous, why });
    }
    this.cpuMax.clear();
    for (const [name, t] of this.throttles) {
      if (signalService(t, SIGCONT)) log.info("throttled service resumed", { service: name, pid: t.pid, why });
    }
  }

  /** Stops the worker (throttled services get SIGCONT). Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const w = this.worker;
    this.worker = null;
    if (w) {
      const closed = new Promise<void>((resolve) => {
        w.addEventListener("close", () => resolve());
        setTimeout(resolve, 1000);
      });
      // The worker releases its throttles (SIGCONT, cpu.max restored) and answers "stopped".
      const released = new Promise<void>((resolve) => {
        w.addEventListener("message", (e: MessageEvent) => {
          if ((e.data as { type?: string } | null)?.type === "stopped") resolve();
        });
        setTimeout(resolve, 1000);
      });
      try {
        w.postMessage({ type: "shutdown" } satisfies ToWorker);
      } catch {
        /* already gone */
      }
      await released;
      w.terminate();
      await closed;
    }
    this.releaseThrottles("heartbeat stopped");
    this.throttles.clear();
  }

  stats(): MetabolicStats {
    return {
      workerStarts: this.starts,
      workerCrashes: this.crashes,
      running: this.worker !== null,
      samples: this.reader.samples,
      sampleAgeMs: this.reader.lastNewAt >= 0 ? performance.now() - this.reader.lastNewAt : -1,
      workerReady: this.worker !== null && this.silence.readyAt >= 0,
      quietMs: this.worker ? this.silence.quietMs(this.reader.lastNewAt) : -1,
      throttled: [...this.throttles.keys()],
      sample: this.reader.samples > 0 ? (Object.fromEntries(sampleIndex.map(([n, i]) => [n, +this.reader.values[i]!.toPrecision(6)])) as MetabolicStats["sample"]) : null,
    };
  }

  /**
   * Forgives the current worker's silence until now (its quietMs counts from here): called when the
   * beat finds the whole process was not running (missed beats), which is no stall of the worker.
   */
  excuseQuiet(): void {
    this.silence.excuse();
  }

  /**
   * Replaces a worker that stopped publishing (hung in a loop or in a system call). Here, not by its
   * close: terminate() ends a worker only once it runs JavaScript again, and one blocked in a read (a
   * sensor file that never answers) never closed, so a service it had stopped (its duty cycle's
   * SIGSTOP) stayed stopped and no new worker came.
   */
  restartStale(reason: string): void {
    const w = this.worker;
    if (!w) return;
    log.warn("metabolic worker stalled; restarting", { reason });
    this.stuck++;
    w.addEventListener("close", () => {
      this.stuck--;
      if (this.waitingForStuck) {
        this.waitingForStuck = false;
        this.scheduleRestart();
      }
    });
    w.terminate();
    this.lost("worker stalled"); // its close, whenever it comes, is a stale worker's
  }

  /** The current worker is gone (`why`): its throttles released, and unless stopping a crash counted (`say` logs it) and a restart scheduled. */
  private lost(why: string, say?: () => void): void {
    this.worker = null;
    this.silence.lost();
    this.releaseThrottles(why);
    if (this.stopping) return;
    this.crashes++;
    if (performance.now() - this.silence.spawnedAt > 10_000) this.consecutiveCrashes = 0;
    say?.();
    this.opts.onCrash?.(this.crashes);
    this.scheduleRestart();
  }
}
