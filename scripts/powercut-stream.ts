// The power-cut test's mutation stream, shared by the guest producer (scripts/powercut-guest.ts) and the host judge (scripts/qemu-powercut.ts).
import { mulberry32 } from "../src/util/prng.ts";

/** F32 tensors of the default model's pixel head (no interrupt reads them) and their sizes. */
export const POWERCUT_TENSORS: readonly (readonly [string, number])[] = [["pixel.0.bias", 64], ["pixel.1.bias", 16]];

export interface StreamMutation {
  tensor: string;
  offset: number;
  /** Exact float32 values. */
  values: number[];
}

/** Mutation `i` of the stream seeded `seed`: 1 to 4 values in [-4, 4) at a seeded place. Pure. */
export function streamMutation(seed: number, i: number): StreamMutation {
  // Mutation i draws from its own mulberry32 stream: the key mixes the seed and the index.
  const next = mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) >>> 0);
  next();
  const [tensor, n] = POWERCUT_TENSORS[Math.floor(next() * POWERCUT_TENSORS.length)]!;
  const k = 1 + Math.floor(next() * 4);
  const offset = Math.floor(next() * (n - k + 1));
  const values = Array.from({ length: k }, () => Math.fround(next() * 8 - 4));
  return { tensor, offset, values };
}

/** The watched tensors' values as one base64 string per tensor (little-endian float32 bytes). */
export function encodeValues(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
}
export function decodeValues(b64: string): Float32Array {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
