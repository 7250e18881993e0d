// Test helpers: build vectorland variants in memory and turn them into parser input or GGUF bytes.
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
