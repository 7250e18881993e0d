// hw.mmio: the fixed, ordered layout of the machine-state vector (names, units, limits, flag bits).
import { InputError, VectorBootError } from "../errors.ts";

/** One hw.mmio field: its name (what a model's `vectorland.cortex.input_layout` refers to), unit and limits. */
export interface HwMmioField {
  readonly name: string;
  readonly unit: string;
  /** Limits a model should clamp the field to (its `kernel.cortex.input_min/max`). */
  readonly min: number;
  readonly max: number;
}

/** Layout version: bump when a field is renamed, removed or changes meaning (appending is compatible). */
export const HW_MMIO_VERSION = 1;
/** Per-core CPU slots (`cpu.0` .. `cpu.15`); cores beyond are counted in `cpu.total` only. */
export const CPU_SLOTS = 16;
/** Thermal zone slots (`thermal.0` .. `thermal.7`). */
export const THERMAL_SLOTS = 8;
/** Service slots (`svc.0.*` .. `svc.7.*`), in the supervisor's order. */
export const SERVICE_SLOTS = 8;
/** Fields of each service slot. */
export const serviceSlotFields = ["running", "restarts", "rss_mib", "cpu", "throttled"] as const;

/** Bits of the `flags` field: a source that could not be read (its fields then hold their defined value). */
export const HwFlag = {
  cpuMissing: 1 << 0,
  loadMissing: 1 << 1,
  memMissing: 1 << 2,
  psiMissing: 1 << 3,
  diskMissing: 1 << 4,
  netMissing: 1 << 5,
  thermalMissing: 1 << 6,
  procsMissing: 1 << 7,
  /** More cores than CPU_SLOTS / services than SERVICE_SLOTS / zones than THERMAL_SLOTS. */
  cpuSlotsTruncated: 1 << 8,
  serviceSlotsTruncated: 1 << 9,
  thermalSlotsTruncated: 1 << 10,
  /** First sample: rates and CPU fractions need two samples and read 0. */
  firstSample: 1 << 11,
  /** Some service pid's /proc entry could not be read (it just exited). */
  servicePidMissing: 1 << 12,
} as const;

const frac = (name: string): HwMmioField => ({ name, unit: "fraction 0..1", min: 0, max: 1 });
const count = (name: string): HwMmioField => ({ name, unit: "count", min: 0, max: 1e6 });
const rate = (name: string): HwMmioField => ({ name, unit: "MiB/s", min: 0, max: 1e6 });
const mib = (name: string): HwMmioField => ({ name, unit: "MiB", min: 0, max: 1e9 });
const flag = (name: string): HwMmioField => ({ name, unit: "flag 0/1", min: 0, max: 1 });
const celsius = (name: string): HwMmioField => ({ name, unit: "degrees Celsius", min: -273, max: 500 });

function build(): HwMmioField[] {
  const f: HwMmioField[] = [
    // Aggregates (the default model's inputs; same names, units and limits).
    frac("cpu.total"),
    frac("cpu.iowait"),
    frac("cpu.steal"),
    { name: "load.avg1_per_cpu", unit: "load / cpus", min: 0, max: 1e3 },
    { name: "load.avg5_per_cpu", unit: "load / cpus", min: 0, max: 1e3 },
    frac("mem.used_frac"),
    frac("mem.dirty_frac"),
    frac("swap.used_frac"),
    flag("psi.available"),
    frac("psi.cpu.some_avg10"),
    frac("psi.memory.some_avg10"),
    frac("psi.memory.full_avg10"),
    frac("psi.io.some_avg10"),
    frac("psi.io.full_avg10"),
    rate("disk.read_mib_s"),
    rate("disk.write_mib_s"),
    rate("net.rx_mib_s"),
    rate("net.tx_mib_s"),
    flag("thermal.available"),
    celsius("thermal.max_c"),
    count("procs.total"),
    count("procs.running"),
    count("procs.zombies"),
    count("services.total"),
    count("services.running"),
    count("services.failed"),
    count("services.restarts"),
    mib("services.rss_mib"),
    frac("services.cpu"),
    // Details.
    { name: "flags", unit: "bit set (HwFlag)", min: 0, max: 1 << 24 },
    count("cpu.count"),
  ];
  for (let i = 0; i < CPU_SLOTS; i++) f.push(frac(`cpu.${i}`));
  f.push(
    { name: "load.avg1", unit: "load", min: 0, max: 1e6 },
    { name: "load.avg5", unit: "load", min: 0, max: 1e6 },
    { name: "load.avg15", unit: "load", min: 0, max: 1e6 },
    mib("mem.total_mib"),
    mib("mem.available_mib"),
    mib("mem.dirty_mib"),
    mib("swap.total_mib"),
    mib("swap.used_mib"),
    frac("psi.cpu.some_avg60"),
    frac("psi.memory.some_avg60"),
    frac("psi.io.some_avg60"),
    count("procs.blocked"),
    count("thermal.zones"),
  );
  for (let i = 0; i < THERMAL_SLOTS; i++) f.push(celsius(`thermal.${i}`));
  for (let s = 0; s < SERVICE_SLOTS; s++) {
    f.push(
      flag(`svc.${s}.running`),
      count(`svc.${s}.restarts`),
      mib(`svc.${s}.rss_mib`),
      { name: `svc.${s}.cpu`, unit: "cores (1 = one core busy)", min: 0, max: 1024 },
      flag(`svc.${s}.throttled`),
    );
  }
  return f;
}

/** Every hw.mmio field, in layout order (index = position in the shared vector). */
export const hwMmioFields: readonly HwMmioField[] = Object.freeze(build());
export const HW_MMIO_FIELDS = hwMmioFields.length;

const indexByName = new Map(hwMmioFields.map((f, i) => [f.name, i]));

/** Index of a field in the vector, or -1. */
export function hwIndex(name: string): number {
  return indexByName.get(name) ?? -1;
}

/** Index of a field that must exist (layout constants used by the sampler). */
export function hwIndexOf(name: string): number {
  const i = indexByName.get(name);
  if (i === undefined) throw new VectorBootError(`hw.mmio has no field ${name}`);
  return i;
}

/** Names a model may use that are not hw.mmio fields: `reserved.N` always reads 0. */
export const isReservedInput = (name: string): boolean => /^reserved\.\d+$/.test(name);

/**
 * Cortex inputs (name, unit, min, max) for a list of hw.mmio names, for a model generator:
 * `cortexInputs(["cpu.total", "svc.0.cpu", "reserved.0"])`. Throws on a name hw.mmio does not have.
 */
export function cortexInputs(names: readonly string[]): HwMmioField[] {
  return names.map((n) => {
    if (isReservedInput(n)) return { name: n, unit: "unused", min: 0, max: 0 };
    const i = indexByName.get(n);
    if (i === undefined) throw new InputError(`hw.mmio has no field ${JSON.stringify(n)}`);
    return hwMmioFields[i]!;
  });
}
