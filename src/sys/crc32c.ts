// CRC32C of the shim (native/crc32c.c: the SSE4.2 instruction) through bun:ffi, opened on first use.
import { dlopen, FFIType } from "bun:ffi";
import { shimPath } from "./lib.ts";

const { i32, u32, ptr } = FFIType;

interface Symbols {
  vb_crc32c_update: (crc: number, buf: Uint8Array, start: number, end: number, hw: number) => number;
  vb_crc32c_hw: () => number;
}

let lib: Symbols | null | undefined;
let hw = 0;

function open(): Symbols | null {
  try {
    const s = dlopen(shimPath, {
      vb_crc32c_update: { args: [u32, ptr, i32, i32, i32], returns: u32 },
      vb_crc32c_hw: { args: [], returns: i32 },
    }).symbols as unknown as Symbols;
    hw = s.vb_crc32c_hw();
    return s;
  } catch {
    return null; // no shim (or an older one): the TypeScript CRC runs instead
  }
}

/**
 * The native CRC32C update over `buf[start, end)` (end > start), or null when the shim cannot be
 * loaded. `useHardware` false takes the C table path even on an SSE4.2 CPU (tests cover both).
 */
export function nativeCrc32c(useHardware = true): ((crc: number, buf: Uint8Array, start: number, end: number) => number) | null {
  if (lib === undefined) lib = open();
  const l = lib;
  const h = useHardware ? hw : 0;
  return l ? (crc, buf, start, end) => l.vb_crc32c_update(crc, buf, start, end, h) : null;
}

/** Whether the native CRC uses the SSE4.2 instruction (false: its table, or no shim). */
export function nativeCrc32cHardware(): boolean {
  nativeCrc32c();
  return hw === 1;
}
