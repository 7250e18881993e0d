// Test helpers: build vectorland variants in memory and turn them into parser input or GGUF bytes.
import { dequantize, GgmlType, quantize } from "../../src/gguf/index.ts";
import type { ModelParts } from "../../src/neural/architecture.ts";
import { type BuildOptions, type BuiltModel, buildVectorland } from "../../src/neural/vectorland-builder.ts";

/** Metadata with plain values (what the architecture check reads) and the tensors of a built model. */
export function sourceOf(b: BuiltModel): ModelParts & { metadata: Map<string, unknown> } {
  return { metadata: new Map([...b.metadata].map(([k, v]) => [k, v.value as unknown])), tensors: b.tensors };
}

export function built(opts: BuildOptions = {}): BuiltModel {
  return buildVectorland(opts);
}

/** The seed's pixel programs. */
export const seedPixels = [
  [72, 101, 108],
  [101, 108, 108],
  [108, 111, 111],
  [250, 255, 0],
] as const;

/**
 * The default vectorland with a 256-wide pixel input (85 pixels) and 256 hidden units, so that
 * pixel.0.weight [256, 256] can be Q4_K (256 super-blocks) and pixel.1.weight [256, 16] Q6_K (16).
 */
export function kquantBuilt(): BuiltModel {
  const b = buildVectorland({ maxPixels: 85, pixelHidden: [256] });
  const tensors = b.tensors.map((t) => {
    const type = t.name === "pixel.0.weight" ? GgmlType.Q4_K : t.name === "pixel.1.weight" ? GgmlType.Q6_K : null;
    if (type === null) return t;
    const n = t.ne.reduce((a: number, c) => a * Number(c), 1);
    return { ...t, type, data: quantize(type, dequantize({ type: t.type, data: t.data, nElements: n })) };
  });
  return { ...b, tensors };
}
