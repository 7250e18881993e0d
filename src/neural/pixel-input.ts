// Validates pixel programs (RGB triples) and lays them out as the pixel head's input vector.
import { InputError } from "../errors.ts";

/** One pixel: red, green, blue, each an integer 0..255. */
export type Pixel = readonly [r: number, g: number, b: number];

/** Accepted forms: an array of [r, g, b] triples, or a flat byte array r0 g0 b0 r1 g1 b1 ... */
export type PixelInput = readonly Pixel[] | Uint8Array;

const channelNames = ["r", "g", "b"] as const;

/**
 * Checks `pixels` and writes channel * scale for each pixel into `out` (zero after the last pixel).
 * Returns the pixel count. Throws InputError naming the first bad pixel and channel.
 */
export function encodePixels(pixels: unknown, maxPixels: number, scale: number, out: Float32Array): number {
  if (pixels instanceof Uint8Array) {
    if (pixels.length === 0) throw new InputError("no pixels given: a pixel program needs at least one [r, g, b] triple");
    if (pixels.length % 3 !== 0) throw new InputError(`pixel bytes must come in r,g,b triples; got ${pixels.length} bytes`);
    const n = pixels.length / 3;
    if (n > maxPixels) throw new InputError(`too many pixels: ${n} given, the model takes at most ${maxPixels}`);
    out.fill(0);
    for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! * scale;
    return n;
  }
  if (!Array.isArray(pixels)) throw new InputError(`pixels must be an array of [r, g, b] triples or a Uint8Array, got ${pixels === null ? "null" : typeof pixels}`);
  if (pixels.length === 0) throw new InputError("no pixels given: a pixel program needs at least one [r, g, b] triple");
  if (pixels.length > maxPixels) throw new InputError(`too many pixels: ${pixels.length} given, the model takes at most ${maxPixels}`);
  // Each value is read once, checked, then written: a getter cannot hand the check one value and the head another.
  const n = pixels.length;
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const p: unknown = pixels[i];
    if (!Array.isArray(p) && !ArrayBuffer.isView(p)) throw new InputError(`pixel ${i} is not an [r, g, b] triple`);
    const t = p as ArrayLike<unknown>;
    if (t.length !== 3) throw new InputError(`pixel ${i} has ${t.length} channels, a pixel has exactly 3 (r, g, b)`);
    for (let c = 0; c < 3; c++) {
      const v = t[c];
      if (typeof v !== "number" || !Number.isInteger(v)) throw new InputError(`pixel ${i} channel ${channelNames[c]}: ${String(v)} is not an integer`);
      if (v < 0 || v > 255) throw new InputError(`pixel ${i} channel ${channelNames[c]}: ${v} is out of range 0..255`);
      out[3 * i + c] = v * scale;
    }
  }
  return n;
}

/** Parses CLI pixel arguments "R,G,B" (one per argument). Throws InputError on a malformed one. */
export function parsePixelArgs(args: readonly string[]): Pixel[] {
  return args.map((a, i) => {
    const parts = a.split(",");
    if (parts.length !== 3) throw new InputError(`pixel argument ${i + 1} "${a}" is not R,G,B`);
    const nums = parts.map((s, c) => {
      if (!/^\s*\d+\s*$/.test(s)) throw new InputError(`pixel argument ${i + 1} "${a}": channel ${channelNames[c]} "${s}" is not a non-negative integer`);
      return Number(s);
    });
    return [nums[0]!, nums[1]!, nums[2]!] as const;
  });
}
