// SIMD mat-vec kernels of the shim (native/matvec.c) through bun:ffi, on the caller's bytes (mapped model pages: no copy).
import { FFIType } from "bun:ffi";
import { check, openShim } from "./lib.ts";

const { i32, ptr } = FFIType;

/** Kernel variants of native/matvec.c, by level. */
export const MatvecLevel = { c: 0, avx2: 1, avx512: 2 } as const;
const levelNames = ["c", "avx2", "avx512"] as const;

interface Symbols {
  vb_matvec: (type: number, w: Uint8Array, rows: number, cols: number, x: Float32Array, y: Float32Array, r0: number, r1: number, level: number) => number;
  vb_matvec_best: () => number;
}

/** The kernels, opened at the first product rather than when the module is loaded (as lazyShim does): importing the library opens no shim. */
let lib: Symbols | null | undefined;

function kernels(): Symbols | null {
  if (lib !== undefined) return lib;
  try {
    lib = openShim({
      vb_matvec: { args: [i32, ptr, i32, i32, ptr, ptr, i32, i32, i32], returns: i32 },
      vb_matvec_best: { args: [], returns: i32 },
    }).symbols as unknown as Symbols;
  } catch {
    lib = null; // no shim (or one without the kernels): the TypeScript kernels run instead
  }
  return lib;
}

/** Whether the native kernels could be loaded (the first call tries to open the shim). */
export function nativeMatvecAvailable(): boolean {
  return kernels() !== null;
}

/** Name of the best kernel variant this CPU runs ("c", "avx2", "avx512"), or null without the shim. */
export function nativeMatvecLevel(): (typeof levelNames)[number] | null {
  const k = kernels();
  return k ? levelNames[k.vb_matvec_best()]! : null;
}

/** The kernels this thread's products run: the shim's best variant, or "typescript" when the shim cannot be opened here. */
export function matvecKernelName(): (typeof levelNames)[number] | "typescript" {
  return nativeMatvecLevel() ?? "typescript";
}

/**
 * y[r] = sum_j W[r, j] x[j] for r in [r0, r1), W = `rows` rows of `cols` elements of ggml `type`
 * in `w` (passed by pointer: a view over a mapping stays zero-copy). `level` -1 picks the best
 * variant; a higher level than the CPU has throws ENOTSUP. Callers check shapes and lengths first
 * (src/neural/matvec.ts): the C code trusts them. Needs a shim (nativeMatvecAvailable()).
 */
export function nativeMatvec(type: number, w: Uint8Array, rows: number, cols: number, x: Float32Array, y: Float32Array, r0: number, r1: number, level = -1): void {
  if (r0 === r1) return;
  const r = kernels()!.vb_matvec(type, w, rows, cols, x, y, r0, r1, level);
  if (r < 0) check(r, "vb_matvec", `type ${type} ${rows}x${cols} rows [${r0}, ${r1}) level ${level}`);
}
