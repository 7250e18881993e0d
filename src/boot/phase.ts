// The shape of a boot phase: start returns what it owns (stop, and what it hands to the next image).
import type { Config } from "../config/schema.ts";
import type { Reaper } from "../init/reaper.ts";
import type { NeuralRuntime } from "../neural/runtime.ts";
import type { MainExit } from "../supervisor/service-runner.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { BootOptions } from "./boot-options.ts";
import type { BootContext } from "./early-setup.ts";
import type { EvolutionHandle } from "./evolution-phase.ts";
import type { Handoff } from "./handoff.ts";
import type { HeartbeatHandle } from "./heartbeat-phase.ts";
import type { LoadedModel } from "./runtime-phase.ts";
import type { Watchdog } from "../heartbeat/watchdog.ts";
import type { ShutdownSignals } from "./shutdown-signals.ts";

export type BootConfig = Config & { state_dir: string; run_dir: string };

/**
 * What the phases share, filled in as the boot goes on (each field by the phase named beside it).
 * The control socket and a re-exec read it live; a field is null until its phase has run.
 */
export interface Boot {
  readonly opts: BootOptions;
  /** The previous image's state after a live re-exec, else null. */
  readonly handoff: Handoff | null;
  /** Generation of this image (0 on a fresh boot, +1 per re-exec). */
  readonly generation: number;
  ctx: BootContext; // early
  config: BootConfig; // config
  /** Where the state would be with no state_dir configured (null: a new mkdtemp directory). */
  stateDirByDefault: string | null; // config
  reaper: Reaper; // reaper
  signals: ShutdownSignals; // signals
  runtime: NeuralRuntime | null; // runtime
  model: LoadedModel | null; // runtime
  /** The configured mount state_dir lies under, when it is not mounted (then no evolution). */
  stateDiskMissing: string | null; // storage
  evolution: EvolutionHandle | null; // evolution
  supervisor: Supervisor | null; // services
  /** How the main service (config `main`) ended the machine, once it has. */
  mainExit: MainExit | null; // services
  /** The hardware watchdog, armed until reboot(2) and across re-execs (null: none configured or present). */
  watchdog: Watchdog | null; // watchdog
  /** After a live re-exec: the device the previous image handed over, petted on a timer until the watchdog phase takes it or disarms it. */
  handedWatchdog?: Watchdog; // handed-watchdog
  heartbeat: HeartbeatHandle | null; // heartbeat
  /** The fleet role for `status` (set by the fleet phase; absent without a fleet). */
  fleetRole?: () => FleetRole;
  /** Live re-exec (the reexec phase arms it); only returns by throwing: the running image carries on. */
  reexec: ((path?: string) => Promise<never>) | null;
}

/** This node in its fleet: member while its lease is surely alive; leader while it leads a singleton service. */
export interface FleetRole {
  fleet: string;
  node: string;
  role: "leader" | "member" | "detached";
  singletons: Array<{ service: string; role: "leader" | "follower" | "stopping" }>;
}

/** What a started phase owns. Every member is optional. */
export interface PhaseRun {
  /** Undoes the phase at shutdown (the table walked in reverse, under one deadline; `leftMs`: what is left of it). */
  stop?(leftMs: number): Promise<void> | void;
  /** State for the next image at a live re-exec (may pause the phase: the heartbeat freezes). */
  handoff?(): Promise<unknown> | unknown;
  /** The exec failed after `handoff` or `handoffAtExec`: undo the pause (or what was kept open across the exec), the running image carries on. */
  resume?(): Promise<void> | void;
  /**
   * State for the next image read at the exec itself, after every `handoff` (synchronous: nothing
   * runs between it and the execve), for a part that changes by itself while other parts are
   * written (the services: an exit, a back-off's or a restart's start).
   */
  handoffAtExec?(): unknown;
  /**
   * A live re-exec begins its handover, before any phase writes its part: stop acting on requests
   * that would change a part (the control socket holds them), so none lands between two parts.
   */
  beginHandover?(): void;
  /** The handover ended without an exec (a phase could not hand over, the exec failed, a shutdown won): act again. */
  endHandover?(): void;
}

export interface Phase {
  name: string;
  /** Runs the phase. It may throw: the boot then stops, and the phases already started are stopped. */
  start(b: Boot): Promise<PhaseRun | void> | PhaseRun | void;
}

/** The part of the handoff that phase `name` wrote, for it to validate (its own schema). */
export const handedOver = (b: Boot, name: string): unknown => b.handoff?.parts[name];
