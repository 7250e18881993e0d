// A service's state as handed to the next image at a live re-exec (zod-validated on the way back in).
import { z } from "zod";
import { lazy } from "../util/lazy.ts";

export const serviceStates = ["pending", "starting", "running", "backoff", "stopping", "stopped", "exited", "failed"] as const;

export const serviceSnapshotSchema = lazy(() =>
  z
    .object({
      name: z.string(),
      state: z.enum(serviceStates),
      /** The process (running, stopping), else null. */
      pid: z.number().int().positive().nullable(),
      restarts: z.number().int().min(0),
      failures: z.number().int().min(0),
      /** Ages (ms before the handoff) of recent restarts, for the storm limit. */
      restartAgesMs: z.array(z.number().min(0)).max(10_000),
      /** How long the current process had been running (ms) at the handoff. */
      runningForMs: z.number().min(0),
      lastStatus: z.number().int().nullable(),
      /** A stop was requested: the service does not come back by itself. */
      stopRequested: z.boolean(),
      /** Time left (ms) on the pending timer: the grace period (stopping) or the back-off (backoff). */
      timerLeftMs: z.number().min(0).nullable(),
      /** Last STATUS= text from sd_notify. */
      statusText: z.string().max(4096).nullable().default(null),
      healthChecks: z.number().int().min(0).default(0),
      healthFailures: z.number().int().min(0).default(0),
      /** Read ends of its output pipes, kept open across the execve. */
      logFds: z.array(z.object({ fd: z.number().int().min(3), stream: z.union([z.literal(1), z.literal(2)]) }).strict()).max(64).default([]),
    })
    .strict(),
);
export type ServiceSnapshot = z.infer<ReturnType<typeof serviceSnapshotSchema>>;
