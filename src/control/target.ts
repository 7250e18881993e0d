// What the control server acts on: implemented by the boot sequence (the running init), stubbed in tests.
import type { ServiceStatus } from "../supervisor/supervisor.ts";

export type { ServiceStatus };

/** A weight mutation as the control socket carries it (the same CTRM gate as the shared-memory path applies). */
export interface ControlMutation {
  tensor: string;
  /** First element (not byte) of the tensor to overwrite. */
  offset: number;
  values: number[];
  confidence: number;
}

/**
 * The running init as the control socket sees it. Every method may throw (or reject): the
 * caller gets `{"ok":false,"error":{"code":"failed","message":<describeError>}}`; a thrown
 * `InputError` or `ConfigError` becomes `invalid_request`. Optional methods that are absent
 * answer `not_supported`. Results must be JSON-serialisable (no bigint, no typed arrays).
 */
export interface ControlTarget {
  /**
   * Uptime, boot timings, beat statistics, model, journal position: a plain object. Suggested keys
   * (the CLI prints these when present, and any others as they come): `pid`, `version`,
   * `uptimeMs`, `generation`, `boot` (phase -> ms), `beat` ({ n, periodMs, lateP99Ms, ... }),
   * `model` ({ path, origin, tensors, bytes }), `journal` ({ nextSeq, durableSeq }).
   */
  status(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Every configured service (the supervisor's `list()`); `withUsage` false: without cgroup usage (cheaper). */
  services(withUsage?: boolean): ServiceStatus[];
  /** Starts a stopped (or failed) service; the name is known to exist (checked against `services()`). */
  startService(name: string): void | Promise<void>;
  /** Stops a service; resolves when it holds no process (stop signal, grace, SIGKILL). */
  stopService(name: string): Promise<void>;
  restartService(name: string): Promise<void>;
  /** Recent output lines of a service (after sequence `after`, the last `limit`); absent: not kept. */
  serviceLogs?(name: string, after?: number, limit?: number): { lines: Array<{ seq: number; t: number; line: string }>; next: number; more?: true } | null;
  /** Runtime statistics (neural runtime, evolution channel, journal): a plain object. */
  stats(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Runs the pixel head on RGB triples (0-255 each). */
  executePixels?(pixels: Array<[number, number, number]>): unknown | Promise<unknown>;
  /** Why an absent optional method is absent, by op (e.g. mutate: "evolution is disabled ..."), for the `not_supported` answer. */
  unsupported?: Partial<Record<string, string>>;
  /** Submits a mutation through the CTRM gate; resolves once durable (or rejected with a reason). */
  submitMutation?(m: ControlMutation): Promise<unknown>;
  /** Writes a checkpoint now; resolves to its description. */
  checkpoint?(): Promise<unknown>;
  /** Requests an orderly shutdown; returns at once (the server answers before the machine goes down). */
  shutdown(mode: "poweroff" | "reboot"): void;
  /** The shutdown under way (requested by a signal or over the socket) and the mode it ends in; null or absent: none. */
  shutdownUnderway?(): { reason: string; mode: string } | null;
  /**
   * Live re-exec into `path` (default: the running executable). Rejects when the new image is
   * refused (it does not answer --version) or execve fails: the running image carries on and the
   * caller gets the error. On success it never settles: the image is replaced, this connection
   * (close-on-exec) drops, and the client reconnects to the new image and compares `generation`.
   */
  reexec?(path?: string): Promise<unknown>;
}
