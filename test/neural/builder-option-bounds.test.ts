// buildVectorland's options are checked (zod) before anything is allocated: an option out of its bound is an InputError naming it.
import { expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { type BuildOptions, buildVectorland } from "../../src/neural/vectorland-builder.ts";

function refusal(opts: unknown): string {
  try {
    buildVectorland(opts as BuildOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error(`buildVectorland(${JSON.stringify(opts)}) built a model`);
}

test("buildVectorland({ maxPixels: 1e9 }) or { pixelHidden: [1e6, 1e6] } ended in a raw RangeError: Out of memory, and maxPixels: -1 reported 'pixel width 0 ... got 0'", () => {
  expect(refusal({ maxPixels: 1e9 })).toBe("buildVectorland: maxPixels: Too big: expected number to be <=1048576");
  expect(refusal({ pixelHidden: [1e6, 1e6] })).toContain("buildVectorland: maxPixels, pixelHidden, pixelOutputs and cortexHidden give 1000112001216 weights");
  expect(refusal({ pixelHidden: [1e6, 1e6] })).toContain("more than the 134217728");
  expect(refusal({ maxPixels: -1 })).toBe("buildVectorland: maxPixels: Too small: expected number to be >=1");
  expect(refusal({ maxPixels: 2.5 })).toContain("maxPixels:");
  expect(refusal({ pixelOutputs: 0 })).toContain("pixelOutputs: Too small");
  expect(refusal({ cortexHidden: 1e7 })).toContain("cortexHidden: Too big");
  expect(refusal({ pixelHidden: [64, -3] })).toContain("pixelHidden.1: Too small");
  expect(refusal({ padMib: 1e9 })).toBe("buildVectorland: padMib: Too big: expected number to be <=1024");
  expect(refusal({ padMib: -1 })).toContain("padMib: Too small");
  expect(refusal({ type: "Q9" })).toContain("type: Invalid option");
  expect(refusal(null)).toContain("buildVectorland: options: Invalid input: expected object, received null");
  expect(refusal({ maxPixel: 8 })).toContain('Unrecognized key: "maxPixel"');
  expect(refusal({ cortexInputs: [{ name: "x" }] })).toContain("cortexInputs.0.min");
  // Within the bounds a model is still built.
  expect(buildVectorland({ maxPixels: 4, pixelHidden: [8], pixelOutputs: 4 }).tensors.length).toBeGreaterThan(0);
}, 20_000);
