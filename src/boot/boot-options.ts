// What `vector-boot boot` was asked (also handed to the next image at a live re-exec).
import { lazy } from "../util/lazy.ts";
import { z } from "../util/zod-mini.ts";

export const bootOptionsSchema = lazy(() =>
  z.strictObject({
    configFile: z.optional(z.string()),
    model: z.optional(z.string()),
    /** Kernel command line to use instead of /proc/cmdline (outside PID 1 /proc/cmdline is the host's and is ignored). */
    cmdline: z.optional(z.string()),
    extraCmdline: z.array(z.string()),
  }),
);
export type BootOptions = z.infer<ReturnType<typeof bootOptionsSchema>>;

/** The command line a boot reads vector.* keys from: --cmdline, else $VECTOR_BOOT_CMDLINE; undefined: PID 1 reads /proc/cmdline. */
export function bootCmdline(o: BootOptions): string | undefined {
  return o.cmdline ?? (process.env.VECTOR_BOOT_CMDLINE || undefined);
}
