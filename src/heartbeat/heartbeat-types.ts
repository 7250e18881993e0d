// Public types of the heartbeat: constructor options, per-beat record, stats.
import type { Percentiles, TickPart } from "./beat-stats.ts";
import type { CortexModel } from "./cortex-adapter.ts";
import type { HeartbeatConfig, HeartbeatConfigInput } from "../config/heartbeat-schema.ts";
import type { HeartbeatState } from "./heartbeat-machine.ts";
import type { InterruptCarry } from "./interrupt-carry.ts";
import type { MetabolicStats } from "./metabolic-daemon.ts";
import type { ServiceControl } from "./service-control.ts";
import type { Watchdog } from "./watchdog.ts";

export interface HeartbeatOptions {
  /** Beat period in ms (config `heartbeat_ms`, kernel `vector.heartbeat_ms`). */
  periodMs: number;
  /** One summary log line every N beats (config `heartbeat_log_every`; 0: never). */
  logEvery?: number;
  /** The `heartbeat` config section (parsed or raw; validated here). */
  config?: HeartbeatConfig | HeartbeatConfigInput;
  /**
   * The section as the config's schema already parsed it (the boot's `config.heartbeat`): used as
   * it is, instead of `config`, not parsed a second time (0.45-0.58 ms before the first beat).
   */
  parsedConfig?: HeartbeatConfig;
  /** The cortex (a loaded NeuralRuntime); null: beats run without interrupts. */
  model?: CortexModel | null;
  services?: ServiceControl | null;
  /** Evolution hook: applies up to `max` pending records, returns how many it applied. */
  drain?: (max: number) => number;
  /** Called by the `shutdown` interrupt action (the lead wires it to the shutdown request). */
  onShutdown?: (reason: string) => void;
  /** Called after every beat (boot timing, tests). Must not throw (a throw is logged). */
  onBeat?: (beat: BeatInfo) => void;
  /** Metabolic worker entry override (tests). */
  workerUrl?: string;
  /** Number of the last beat before this heartbeat (a live re-exec continues the count). */
  firstBeat?: number;
  /**
   * The interrupts' state a previous image handed over (a live re-exec): an interrupt still raised
   * is not raised again, so its action (a restart, say) is not taken once more per re-exec.
   */
  interrupts?: readonly InterruptCarry[];
  /**
   * A watchdog owned by the caller (the boot keeps it armed through shutdown and re-exec): petted
   * every beat, never opened or disarmed here. Without it the heartbeat opens `config.watchdog`
   * itself and disarms it at stop.
   */
  watchdog?: Watchdog;
}

export interface BeatInfo {
  /** Beat number: firstBeat + slot, where this beat was due at origin + slot * period. */
  n: number;
  slot: number;
  dueMs: number;
  startMs: number;
  /** Start minus the due time of the first slot not yet run (after a stall: the stall, not what is left of it in this slot). */
  lateMs: number;
  tickMs: number;
}

export interface HeartbeatStats {
  state: HeartbeatState;
  periodMs: number;
  beats: number;
  /** Slots skipped because a beat was more than a period late (never made up). */
  missed: number;
  lastSlot: number;
  /** firstBeat + lastSlot: the number of the last beat. */
  lastBeat: number;
  jitterMs: Percentiles;
  /** Lateness of the newest beats (at most 64, oldest first, ms): the series behind `jitterMs`, for a sparkline. */
  latenessRecentMs: number[];
  tickMs: Percentiles;
  /** Mean cost of each part of a tick (ms) over the window. */
  partsMs: Record<TickPart, number>;
  errors: number;
  drained: number;
  interrupts: { name: string; active: boolean; raised: number }[];
  actions: number;
  /** The newest interrupt and action records (at most 8, oldest first); `agoMs`: how long ago. */
  recentRecords: Array<{ agoMs: number; kind: "raised" | "cleared" | "action"; interrupt: string; action: string | null; target: string | null; ok: boolean | null; detail: string | null }>;
  metabolic: MetabolicStats;
  watchdog: { armed: boolean; pets: number };
  /** How beats wake (config `wake`); with the sleeper: its scheduling, the beats it woke, the waits that ran out; `beatFifo`: the beat thread's own window (config `beat_fifo_priority`); `beatGuard`: its guard thread ("N raises", "off", "refused: ..."; null before it starts). */
  wake: { mode: "futex" | "sleeper"; fifo: string | null; beatFifo: string | null; beatGuard: string | null; sleeperWakes: number; sleeperMisses: number };
  tornReads: number;
}
