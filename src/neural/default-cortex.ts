// The default model's cortex design: hw.mmio input layout with limits, and the interrupts it raises.

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

const frac = (name: string): CortexInput => ({ name, unit: "fraction 0..1", min: 0, max: 1 });
const count = (name: string): CortexInput => ({ name, unit: "count", min: 0, max: 1e6 });
const rate = (name: string): CortexInput => ({ name, unit: "MiB/s", min: 0, max: 1e6 });

/**
 * hw.mmio layout of the default model (32 inputs, a multiple of the 32-element quantization block).
 * PSI averages are given as fractions (the kernel's percent / 100). `*.available` are 0/1 flags for
 * sources that may be missing (the value fields then read 0). `reserved.*` always read 0.
 */
export const defaultCortexInputs: readonly CortexInput[] = [
  frac("cpu.total"),
  frac("cpu.iowait"),
  frac("cpu.steal"),
  { name: "load.avg1_per_cpu", unit: "load / cpus", min: 0, max: 1e3 },
  { name: "load.avg5_per_cpu", unit: "load / cpus", min: 0, max: 1e3 },
  frac("mem.used_frac"),
  frac("mem.dirty_frac"),
  frac("swap.used_frac"),
  { name: "psi.available", unit: "flag 0/1", min: 0, max: 1 },
  frac("psi.cpu.some_avg10"),
  frac("psi.memory.some_avg10"),
  frac("psi.memory.full_avg10"),
  frac("psi.io.some_avg10"),
  frac("psi.io.full_avg10"),
  rate("disk.read_mib_s"),
  rate("disk.write_mib_s"),
  rate("net.rx_mib_s"),
  rate("net.tx_mib_s"),
  { name: "thermal.available", unit: "flag 0/1", min: 0, max: 1 },
  { name: "thermal.max_c", unit: "degrees Celsius", min: -273, max: 500 },
  count("procs.total"),
  count("procs.running"),
  count("procs.zombies"),
  count("services.total"),
  count("services.running"),
  count("services.failed"),
  count("services.restarts"),
  { name: "services.rss_mib", unit: "MiB", min: 0, max: 1e9 },
  frac("services.cpu"),
  { name: "reserved.0", unit: "unused", min: 0, max: 0 },
  { name: "reserved.1", unit: "unused", min: 0, max: 0 },
  { name: "reserved.2", unit: "unused", min: 0, max: 0 },
];

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
