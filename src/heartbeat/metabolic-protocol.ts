// Messages between the heartbeat (main thread) and the metabolic worker; worker replies are checked with zod.
import { z } from "../util/zod-mini.ts";
import { lazy } from "../util/lazy.ts";
import type { ServiceSlotInfo } from "./proc-sampler.ts";

export interface WorkerSettings {
  sab: SharedArrayBuffer;
  procRoot: string;
  sysRoot: string;
  sampleMs: number;
  smoothingMs: number;
  /** The process scan at most this often (ms; 0 = every sample). */
  procsMs: number;
  /** The kernel's page size (statm counts pages): 4096 was assumed, a 16 or 64 KiB kernel's RSS read 4x or 16x small. */
  pageSize: number;
}

/** Main thread -> worker. */
export type ToWorker =
  | { type: "init"; settings: WorkerSettings }
  | { type: "services"; list: ServiceSlotInfo[] }
  /** `groups`: the run's process groups (ServiceControl.processGroups), what a SIGSTOP/SIGCONT throttle signals. */
  | { type: "throttle"; name: string; pid: number; groups: number[]; duty: number; periodMs: number }
  | { type: "unthrottle"; name: string }
  | { type: "relieve-memory"; reason: string }
  | { type: "shutdown" };

/** Worker -> main thread (zod/mini: the first message, "ready", is parsed before the first beat). */
export const fromWorkerSchema = lazy(() =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("ready"), generation: z.int() }),
    z.object({
      type: z.literal("action"),
      action: z.enum(["throttle", "unthrottle", "relieve-memory"]),
      name: z.string(),
      ok: z.boolean(),
      detail: z.string(),
    }),
    /** A throttled process disappeared: the worker dropped its duty cycle. */
    z.object({ type: z.literal("throttle-ended"), name: z.string(), pid: z.int(), reason: z.string() }),
    /** A throttle is a cpu.max limit: what the file held before, for the main thread to restore if this worker dies. */
    z.object({ type: z.literal("cpu-max"), name: z.string(), pid: z.int(), file: z.string(), previous: z.string() }),
    z.object({ type: z.literal("sample-error"), error: z.string() }),
    z.object({ type: z.literal("stopped") }),
  ]),
);
export type FromWorker = z.infer<ReturnType<typeof fromWorkerSchema>>;
