// The default model's cortex design: hw.mmio input layout with limits, and the interrupts it raises.
import { cortexInputs } from "../hw/hw-mmio-layout.ts";

/** One cortex input: hw.mmio field name, unit, and the limits the kernel clamps it to. */
export interface CortexInput {
  readonly name: string;
  readonly unit: string;
  readonly min: number;
  readonly max: number;
}

/**
 * One condition of an interrupt: a hidden ReLU unit h = relu((x - fireAt) / scale + 1), which is 0
 * while x <= fireAt - scale and reaches 1 at x = fireAt.
 */
export interface InterruptTerm {
  readonly input: string;
  readonly fireAt: number;
  readonly scale: number;
}

/**
 * An interrupt: score = sigmoid(6 * (sum of its terms' h - 1)). With one term active the score
 * crosses 0.5 exactly when the input reaches `fireAt`; several partly-raised terms add up (combined
 * pressure). Idle score: sigmoid(-6) = 0.0025. Raised at score >= threshold, cleared below
 * threshold - hysteresis.
 */
export interface InterruptSpec {
  readonly name: string;
  readonly terms: readonly InterruptTerm[];
  readonly threshold: number;
  readonly hysteresis: number;
}

/**
 * hw.mmio layout of the default model (32 inputs, a multiple of the 32-element quantization block).
 * PSI averages are given as fractions (the kernel's percent / 100). `*.available` are 0/1 flags for
 * sources that may be missing (the value fields then read 0). `reserved.*` always read 0.
 */
export const defaultCortexInputs: readonly CortexInput[] = cortexInputs([
  "cpu.total",
  "cpu.iowait",
  "cpu.steal",
  "load.avg1_per_cpu",
  "load.avg5_per_cpu",
  "mem.used_frac",
  "mem.dirty_frac",
  "swap.used_frac",
  "psi.available",
  "psi.cpu.some_avg10",
  "psi.memory.some_avg10",
  "psi.memory.full_avg10",
  "psi.io.some_avg10",
  "psi.io.full_avg10",
  "disk.read_mib_s",
  "disk.write_mib_s",
  "net.rx_mib_s",
  "net.tx_mib_s",
  "thermal.available",
  "thermal.max_c",
  "procs.total",
  "procs.running",
  "procs.zombies",
  "services.total",
  "services.running",
  "services.failed",
  "services.restarts",
  "services.rss_mib",
  "services.cpu",
  "reserved.0",
  "reserved.1",
  "reserved.2",
]).map(({ name, unit, min, max }) => ({ name, unit, min, max }));

/** The default interrupts (cortex outputs, in order). */
export const defaultInterrupts: readonly InterruptSpec[] = [
  {
    // CPU contention: tasks waiting for a CPU half of the time, or the CPUs 95% busy.
    name: "cpu_pressure",
    terms: [
      { input: "psi.cpu.some_avg10", fireAt: 0.5, scale: 0.25 },
      { input: "cpu.total", fireAt: 0.95, scale: 0.15 },
    ],
    threshold: 0.5,
    hysteresis: 0.2,
  },
  {
    // Memory nearly exhausted, or tasks stalled on memory (some 20% / full 5% of the time).
    name: "memory_pressure",
    terms: [
      { input: "mem.used_frac", fireAt: 0.95, scale: 0.1 },
      { input: "psi.memory.some_avg10", fireAt: 0.2, scale: 0.1 },
      { input: "psi.memory.full_avg10", fireAt: 0.05, scale: 0.05 },
    ],
    threshold: 0.5,
    hysteresis: 0.2,
  },
  {
    // I/O stalls: some task waiting on I/O half of the time, or all tasks 20% of the time.
    name: "io_pressure",
    terms: [
      { input: "psi.io.some_avg10", fireAt: 0.5, scale: 0.25 },
      { input: "psi.io.full_avg10", fireAt: 0.2, scale: 0.1 },
    ],
    threshold: 0.5,
    hysteresis: 0.2,
  },
  {
    // Zombies piling up: 8 or more unreaped children (PID 1 should never let this happen).
    name: "zombies",
    terms: [{ input: "procs.zombies", fireAt: 8, scale: 4 }],
    threshold: 0.5,
    hysteresis: 0.2,
  },
  {
    // Overheating: the hottest thermal zone at 90 degrees Celsius.
    name: "thermal",
    terms: [{ input: "thermal.max_c", fireAt: 90, scale: 10 }],
    threshold: 0.5,
    hysteresis: 0.2,
  },
  {
    // A configured service failed (stopped for good or exceeded its restart budget).
    name: "service_failed",
    terms: [{ input: "services.failed", fireAt: 1, scale: 0.5 }],
    threshold: 0.5,
    hysteresis: 0.2,
  },
];
