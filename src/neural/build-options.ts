// The options of buildVectorland, checked with zod before anything is allocated: each option within its bound.
import { InputError } from "../errors.ts";
import { issuesText } from "../util/issues-text.ts";
import { lazy } from "../util/lazy.ts";
import { intIn, recordOf, z } from "../util/zod-mini.ts";

/** Largest width of one layer (pixel hidden/outputs, cortex hidden) and largest maxPixels. */
export const MAX_BUILD_WIDTH = 1 << 20;
/** Most weights (matrix elements of both heads) one model may have: 512 MiB as F32, built in memory. */
export const MAX_BUILD_WEIGHTS = 1 << 27;
/** Largest extra.padding tensor, MiB. */
export const MAX_PAD_MIB = 1024;
/** A head has at most 64 layers: at most 63 hidden widths. */
const MAX_HIDDEN_LAYERS = 63;

const schema = lazy(() => {
  const width = intIn(1, MAX_BUILD_WIDTH);
  const finite = z.number().check(z.refine(Number.isFinite, "must be a finite number"));
  const name = z.string().check(z.minLength(1), z.maxLength(128));
  return z.strictObject({
    seed: z.optional(z.int()),
    name: z.optional(z.string()),
    type: z.optional(z.enum(["F32", "F16", "BF16", "Q8_0", "Q4_0"])),
    maxPixels: z.optional(width),
    pixelHidden: z.optional(z.array(width).check(z.maxLength(MAX_HIDDEN_LAYERS))),
    pixelOutputs: z.optional(width),
    cortexHidden: z.optional(width),
    cortexInputs: z.optional(z.array(z.looseObject({ name, unit: z.string(), min: finite, max: finite })).check(z.minLength(1), z.maxLength(MAX_BUILD_WIDTH))),
    interrupts: z.optional(
      z.array(z.looseObject({ name, threshold: finite, hysteresis: finite, terms: z.array(z.looseObject({ input: z.string(), fireAt: finite, scale: finite })).check(z.minLength(1)) })).check(z.minLength(1), z.maxLength(MAX_BUILD_WIDTH)),
    ),
    padMib: z.optional(z.number().check(z.minimum(0), z.maximum(MAX_PAD_MIB))),
    safetyCases: z.optional(z.boolean()),
    extraCases: z.optional(z.array(z.looseObject({ name, inputs: recordOf(z.string(), finite), expect: recordOf(z.string(), z.string()) }))),
  });
});

/** Throws an InputError naming each option out of its bound (nothing is built). */
export function checkBuildOptions(opts: unknown): void {
  const r = schema().safeParse(opts);
  if (!r.success) throw new InputError(`buildVectorland: ${issuesText(r.error.issues, "options")}`, { cause: r.error });
}

/** Refuses a model whose weight matrices (widths of consecutive layers multiplied) hold more than MAX_BUILD_WEIGHTS. */
export function checkBuildWeights(pixelWidths: readonly number[], cortexWidths: readonly number[]): void {
  let total = 0;
  for (const ws of [pixelWidths, cortexWidths]) for (let i = 0; i + 1 < ws.length; i++) total += ws[i]! * ws[i + 1]!;
  if (total > MAX_BUILD_WEIGHTS) {
    throw new InputError(`buildVectorland: maxPixels, pixelHidden, pixelOutputs and cortexHidden give ${total} weights (pixel widths ${pixelWidths.join(", ")}; cortex ${cortexWidths.join(", ")}), more than the ${MAX_BUILD_WEIGHTS} a model built in memory may have`);
  }
}
