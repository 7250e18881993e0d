// What `vector-boot boot` was asked (also handed to the next image at a live re-exec).
import { z } from "zod";
import { lazy } from "../util/lazy.ts";

export const bootOptionsSchema = lazy(() =>
  z
    .object({
      configFile: z.string().optional(),
      model: z.string().optional(),
      /** Kernel command line to use instead of /proc/cmdline (outside PID 1 /proc/cmdline is the host's and is ignored). */
      cmdline: z.string().optional(),
      extraCmdline: z.array(z.string()),
    })
    .strict(),
);
export type BootOptions = z.infer<ReturnType<typeof bootOptionsSchema>>;
