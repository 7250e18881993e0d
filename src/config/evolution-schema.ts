// Zod schema of the `evolution` config section (channel and cortex journal), built on first use, and its defaults as data.
import { intIn as int, z } from "../util/zod-mini.ts";

const mutableTypes = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"] as const;

/** The section's defaults: the schema's, and what a boot with no config file takes without building it. */
export const evolutionDefaults = {
  enabled: true,
  rings: 8,
  slots: 512,
  drain_per_beat: 256,
  min_confidence: 0.8,
  max_magnitude: 1000,
  mutable_types: mutableTypes,
  checkpoint_every_s: 300,
  compact: true,
  repair: false,
} as const;

/** The evolution channel + cortex journal (state lives in `state_dir`, the socket in `run_dir`). */
export const evolutionSchema = z.lazy(() =>
  z.strictObject({
    enabled: z._default(z.boolean(), evolutionDefaults.enabled),
    rings: z._default(int(1, 64), evolutionDefaults.rings),
    slots: z._default(int(2, 4096).check(z.refine((n) => (n & (n - 1)) === 0, "must be a power of two")), evolutionDefaults.slots),
    /** Most submissions taken per beat (and per doorbell). */
    drain_per_beat: z._default(int(1, 100_000), evolutionDefaults.drain_per_beat),
    min_confidence: z._default(z.number().check(z.minimum(0), z.maximum(1)), evolutionDefaults.min_confidence),
    max_magnitude: z._default(z.number().check(z.positive()), evolutionDefaults.max_magnitude),
    /** Tensor types mutations may touch (quantized ones have their touched blocks re-quantized). */
    mutable_types: z._default(z.array(z.enum(mutableTypes)), () => [...evolutionDefaults.mutable_types]),
    /** Seconds between checkpoints when weights changed (0: only at shutdown). */
    // At most 24 days: a longer period overflowed the timer (2^31-1 ms), which then fired every millisecond.
    checkpoint_every_s: z._default(z.number().check(z.minimum(0), z.maximum(2_073_600)), evolutionDefaults.checkpoint_every_s),
    /** Delete journal segments an older kept checkpoint covers. */
    compact: z._default(z.boolean(), evolutionDefaults.compact),
    /** Operator's choice: cut a corrupt journal instead of refusing to start evolution. */
    repair: z._default(z.boolean(), evolutionDefaults.repair),
  }),
);
export type EvolutionSettings = z.infer<typeof evolutionSchema>;

/** The section as the schema gives it for `{}` (fresh arrays: a caller may change its copy). */
export function defaultEvolution(): EvolutionSettings {
  return { ...evolutionDefaults, mutable_types: [...evolutionDefaults.mutable_types] };
}
