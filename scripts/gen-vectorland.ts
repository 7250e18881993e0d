// Generates a vectorland GGUF deterministically (seeded PRNG: same options, same bytes). Default: the boot model.
//
// The default model (see src/neural/default-cortex.ts for the full design):
// - pixel head: up to 32 RGB pixels (input 96 = 32 x r,g,b scaled by 1/255) -> 64 ReLU -> 16 softmax.
// - cortex head: the 32-field hw.mmio vector -> 32 ReLU -> 6 sigmoid interrupt scores. Each interrupt
//   has hand-set hidden units: one per condition, h = relu((x - fireAt) / scale + 1), and the score
//   is sigmoid(6 * (sum h - 1)); a single condition therefore crosses 0.5 exactly at its fireAt:
//     cpu_pressure     psi.cpu.some_avg10 >= 0.50   or cpu.total >= 0.95
//     memory_pressure  mem.used_frac >= 0.95        or psi.memory.some_avg10 >= 0.20 or psi.memory.full_avg10 >= 0.05
//     io_pressure      psi.io.some_avg10 >= 0.50    or psi.io.full_avg10 >= 0.20
//     zombies          procs.zombies >= 8
//     thermal          thermal.max_c >= 90
//     service_failed   services.failed >= 1
//   The other 22 hidden units are seeded random features with zero outgoing weight (dormant until
//   evolution enables them). Idle score: sigmoid(-6) = 0.0025.
// - kernel.cortex.threshold = 0.5 and kernel.cortex.hysteresis = 0.2 for every interrupt (raised at
//   score >= 0.5, cleared below 0.3); kernel.cortex.input_min/max clamp each input to its unit's range.
// - kernel.ctrm.cases / kernel.ctrm.expect (+ vectorland.ctrm.case_names): 41 safety cases the CTRM gate
//   evaluates every cortex mutation on (src/neural/safety-case-design.ts; docs/evolution-protocol.md).
import { appendFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { encodeModel } from "../src/neural/export.ts";
import { buildVectorland, weightTypes } from "../src/neural/vectorland-builder.ts";

const help = `Usage: bun scripts/gen-vectorland.ts -o OUT [options]

Options:
  -o, --output FILE        where to write the GGUF (written to FILE.tmp, then renamed)
  --type T                 weight type: F32 (default), F16, BF16, Q8_0, Q4_0
  --seed N                 PRNG seed (default 24301 = 0x5eed)
  --name NAME              general.name (default vectorland-default)
  --max-pixels N           pixels per program (default 32)
  --pixel-hidden A,B,...   pixel hidden widths (default 64)
  --pixel-outputs N        pixel result width (default 16)
  --cortex-hidden N        cortex hidden width (default 32)
  --pad-mib N              add an extra.padding tensor of N MiB (ignored by the runtime; for packaging tests)
  --cortex-spec FILE       JSON { "inputs"?: [{name, unit, min, max}], "interrupts": [{name, threshold,
                           hysteresis, terms: [{input, fireAt, scale}]}], "cases"?: [{name, inputs: {field: value},
                           expect: {interrupt: "raise"|"quiet"|"clear"|"any"}}] } replacing the default cortex design.
                           Safety cases (kernel.ctrm.*) are derived from the design (idle, and each term at
                           fireAt -scale/2, -scale/10, +scale/10, +scale/2); "cases" adds hand-written ones
  --no-safety-cases        write no kernel.ctrm.* safety cases (a model whose cortex mutations are not evaluated)
  -h, --help               this text`;

const intArg = (min: number) => z.coerce.number().int().min(min);
const schema = z.object({
  output: z.string().min(1, "-o OUT is required"),
  type: z.enum(Object.keys(weightTypes) as [keyof typeof weightTypes]).default("F32"),
  seed: intArg(0).max(0xffffffff).default(0x5eed),
  name: z.string().min(1).optional(),
  maxPixels: intArg(1).max(1 << 20).default(32),
  pixelHidden: z.string().regex(/^\d+(,\d+)*$/, "a comma-separated list of widths").default("64"),
  pixelOutputs: intArg(1).max(1 << 20).default(16),
  cortexHidden: intArg(1).max(1 << 20).default(32),
  padMib: z.coerce.number().min(0).max(64 * 1024).default(0),
  cortexSpec: z.string().min(1).optional(),
  noSafetyCases: z.boolean().default(false),
});

const cortexSpecSchema = z.object({
  inputs: z.array(z.object({ name: z.string().min(1).max(128), unit: z.string(), min: z.number(), max: z.number() })).min(1).optional(),
  interrupts: z
    .array(
      z.object({
        name: z.string().min(1).max(128),
        threshold: z.number(),
        hysteresis: z.number().min(0),
        terms: z.array(z.object({ input: z.string(), fireAt: z.number(), scale: z.number().positive() })).min(1),
      }),
    )
    .min(1),
  cases: z
    .array(
      z.object({
        name: z.string().min(1).max(128),
        inputs: z.record(z.string(), z.number().finite()),
        expect: z.record(z.string(), z.enum(["any", "raise", "quiet", "clear"])),
      }),
    )
    .optional(),
});

let opts: z.infer<typeof schema>;
try {
  const { values } = parseArgs({
    options: {
      output: { type: "string", short: "o" },
      type: { type: "string" },
      seed: { type: "string" },
      name: { type: "string" },
      "max-pixels": { type: "string" },
      "pixel-hidden": { type: "string" },
      "pixel-outputs": { type: "string" },
      "cortex-hidden": { type: "string" },
      "pad-mib": { type: "string" },
      "cortex-spec": { type: "string" },
      "no-safety-cases": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  opts = schema.parse({
    output: values.output ?? "",
    type: values.type?.toUpperCase(),
    seed: values.seed,
    name: values.name,
    maxPixels: values["max-pixels"],
    pixelHidden: values["pixel-hidden"],
    pixelOutputs: values["pixel-outputs"],
    cortexHidden: values["cortex-hidden"],
    padMib: values["pad-mib"],
    cortexSpec: values["cortex-spec"],
    noSafetyCases: values["no-safety-cases"],
  });
} catch (err) {
  const msg = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : (err as Error).message;
  console.error(`gen-vectorland: ${msg}\n\n${help}`);
  process.exit(64);
}

const tmp = `${opts.output}.tmp`;
try {
  const cortex = opts.cortexSpec ? cortexSpecSchema.parse(JSON.parse(await Bun.file(opts.cortexSpec).text())) : undefined;
  const model = buildVectorland({
    cortexInputs: cortex?.inputs,
    interrupts: cortex?.interrupts,
    seed: opts.seed,
    type: opts.type,
    name: opts.name,
    maxPixels: opts.maxPixels,
    pixelHidden: opts.pixelHidden.split(",").map(Number),
    pixelOutputs: opts.pixelOutputs,
    cortexHidden: opts.cortexHidden,
    padMib: opts.padMib,
    safetyCases: !opts.noSafetyCases,
    extraCases: cortex?.cases,
  });
  writeFileSync(tmp, "");
  let size = 0;
  for (const chunk of encodeModel(model.metadata, model.tensors)) {
    appendFileSync(tmp, chunk);
    size += chunk.byteLength;
  }
  renameSync(tmp, opts.output);
  console.error(`gen-vectorland: wrote ${opts.output} (${size} bytes, ${opts.type}, seed ${opts.seed})`);
} catch (err) {
  const msg = err instanceof z.ZodError ? `--cortex-spec: ${err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` : (err as Error).message;
  console.error(`gen-vectorland: ${msg}`);
  rmSync(tmp, { force: true });
  process.exit(65);
}
