// Evolution channel FFI: sealed memfd creation and its shared read-write mapping (native/evolution.c).
import { FFIType, type Pointer, toArrayBuffer } from "bun:ffi";
import { check, cstr, lazyShim } from "./lib.ts";

const { i32, f64, ptr } = FFIType;

const lib = lazyShim({
  vb_evo_memfd: { args: [ptr, f64], returns: i32 },
  vb_evo_get_seals: { args: [i32], returns: i32 },
  vb_evo_mmap: { args: [i32, f64, ptr], returns: i32 },
  vb_evo_munmap: { args: [f64, f64], returns: i32 },
  vb_evo_ftruncate: { args: [i32, f64], returns: i32 },
  vb_evo_fsize: { args: [i32, ptr], returns: i32 },
});

/** fcntl seal bits (linux/fcntl.h). */
export const Seal = { seal: 1, shrink: 2, grow: 4, write: 8 } as const;

export interface SharedMapping {
  /** The shared bytes (plain ArrayBuffer over the mapping; valid until `unmap()`). */
  readonly buffer: ArrayBuffer;
  readonly length: number;
  unmap(): void;
}

/** Creates a memfd of `size` zero bytes sealed against shrinking, growing and further sealing. Returns the fd. */
export function createSealedMemfd(name: string, size: number): number {
  return check(lib.vb_evo_memfd(cstr(name), size), "memfd_create", name);
}

/** The seals of `fd` (bit set of `Seal`). */
export function getSeals(fd: number): number {
  return check(lib.vb_evo_get_seals(fd), "fcntl(F_GET_SEALS)");
}

/** Maps `size` bytes of `fd` shared, read-write. */
export function mapShared(fd: number, size: number): SharedMapping {
  const out = new Float64Array(1);
  check(lib.vb_evo_mmap(fd, size, out), "mmap", `fd ${fd}`);
  const addr = out[0]!;
  const buffer = toArrayBuffer(addr as unknown as Pointer, 0, size);
  let mapped = true;
  return {
    buffer,
    length: size,
    unmap() {
      if (!mapped) return;
      mapped = false;
      check(lib.vb_evo_munmap(addr, size), "munmap");
    },
  };
}

/** ftruncate; throws SysError (EPERM on a sealed memfd). */
export function truncateFd(fd: number, size: number): void {
  check(lib.vb_evo_ftruncate(fd, size), "ftruncate", `fd ${fd}`);
}

export function fdSize(fd: number): number {
  const out = new Float64Array(1);
  check(lib.vb_evo_fsize(fd, out), "fstat", `fd ${fd}`);
  return out[0]!;
}
