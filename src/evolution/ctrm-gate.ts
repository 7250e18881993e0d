// The CTRM gate: the rules every mutation passes before it is journaled; each failure names its reason code.
import { z } from "../util/zod-mini.ts";
import { evolutionDefaults } from "../config/evolution-schema.ts";
import { KERNEL_PREFIX } from "../neural/architecture.ts";
import { encodeProblem } from "../neural/codec.ts";
import { KernelType } from "../neural/matvec.ts";
import { MAX_VALUES } from "./layout.ts";
import { Status } from "./reasons.ts";
import type { Mutation } from "./slot-codec.ts";
import type { MutableWeights } from "./weights.ts";

/** Built on first use (a library caller's options; the boot's are checked by the config schema). */
export const GateConfigSchema = z.lazy(() =>
  z.object({
    /** A mutation needs confidence strictly greater than this. */
    minConfidence: z._default(z.number().check(z.minimum(0), z.maximum(1)), evolutionDefaults.min_confidence),
    /** Largest |value| written into a tensor. */
    maxMagnitude: z._default(z.number().check(z.positive()), evolutionDefaults.max_magnitude),
    /**
     * Tensor types mutations may touch: the config section's `mutable_types` (every type the runtime
     * writes, quantized ones by re-quantizing the touched blocks; a library caller had only F32/F16/BF16).
     */
    supportedTypes: z._default(z.array(z.string()), () => [...evolutionDefaults.mutable_types]),
    /** Tensors whose name starts with one of these are immutable at run time; kernel.* always is (a list without it added to it, not replaced it). */
    protectedPrefixes: z._default(z.array(z.string()), ["kernel."]),
  }),
);
export type GateConfig = z.infer<typeof GateConfigSchema>;
export const defaultGateConfig = (): GateConfig => GateConfigSchema.parse({});

export interface GateVerdict {
  status: Status;
  text: string;
}

const ok: GateVerdict = { status: Status.accepted, text: "" };

/** Judges one decoded mutation against the live weights. Pure: reads tensor metadata only. */
export function ctrmGate(m: Mutation, weights: MutableWeights, cfg: GateConfig): GateVerdict {
  // A probability: above 1 (infinity included) is no confidence either; the control socket refuses it too.
  if (!(m.confidence > cfg.minConfidence && m.confidence <= 1)) return { status: Status.lowConfidence, text: m.confidence > 1 ? `confidence ${m.confidence} > 1` : `confidence ${m.confidence} <= ${cfg.minConfidence}` };
  const info = weights.tensorInfo(m.tensor);
  if (m.tensor.startsWith(KERNEL_PREFIX) || cfg.protectedPrefixes.some((p) => m.tensor.startsWith(p))) return { status: Status.protectedTensor, text: `${m.tensor} is protected` };
  if (!info) return { status: Status.unknownTensor, text: `no tensor ${m.tensor}` };
  if (!cfg.supportedTypes.includes(info.type)) return { status: Status.unsupportedDtype, text: `${info.type} not mutable` };
  if (m.values.length === 0 || m.values.length > MAX_VALUES) return { status: Status.badLength, text: `value count ${m.values.length}` };
  if (!Number.isSafeInteger(m.elementOffset) || m.elementOffset < 0 || m.elementOffset + m.values.length > info.nElements) {
    return { status: Status.outOfRange, text: `[${m.elementOffset},+${m.values.length}) outside ${info.nElements}` };
  }
  // Indexed loops: the iterator protocol over a Float32Array was a tenth of the drain's time.
  const v = m.values;
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return { status: Status.nonFinite, text: `value ${v[i]}` };
  for (let i = 0; i < v.length; i++) if (Math.abs(v[i]!) > cfg.maxMagnitude) return { status: Status.magnitude, text: `|${v[i]}| > ${cfg.maxMagnitude}` };
  // A dry run of the encode: what the tensor's type cannot hold (F16 beyond 65504, say) is refused
  // here, before it is journaled, never met at replay.
  const type = (KernelType as Record<string, number>)[info.type];
  const problem = type === undefined ? null : encodeProblem(type, m.values);
  if (problem) return { status: Status.magnitude, text: `${problem} (${info.type} tensor ${m.tensor})` };
  return ok;
}
