// CRC32C of the shim (native/crc32c.c: the SSE4.2 instruction) through bun:ffi, opened on first use.
import { FFIType } from "bun:ffi";
import { lazy } from "../util/lazy.ts";
import { openShim } from "./lib.ts";

const { i32, u32, ptr } = FFIType;

interface Symbols {
  vb_crc32c_update: (crc: number, buf: Uint8Array, start: number, end: number, hw: number) => number;
  vb_crc32c_hw: () => number;
}

/** The shim's symbols and whether this CPU has the instruction; null without a shim (or an older one). */
const native = lazy((): { sym: Symbols; hw: number } | null => {
  try {
    const sym = openShim({
      vb_crc32c_update: { args: [u32, ptr, i32, i32, i32], returns: u32 },
      vb_crc32c_hw: { args: [], returns: i32 },
    }).symbols as unknown as Symbols;
    return { sym, hw: sym.vb_crc32c_hw() };
  } catch {
    return null; // the TypeScript CRC runs instead
  }
});

/** The most one native call covers: its offsets are 32-bit signed. */
const CHUNK = 1 << 30;

/**
 * The native CRC32C update over `buf[start, end)` (end > start), or null when the shim cannot be
 * loaded. `useHardware` false takes the C table path even on an SSE4.2 CPU (tests cover both).
 * Beyond 2 GiB in one call the end wrapped negative and the CRC came back unchanged (a checkpoint of
 * a model over 2 GiB failed its checksum at every boot): ranges go in pieces of at most 1 GiB.
 */
export function nativeCrc32c(useHardware = true): ((crc: number, buf: Uint8Array, start: number, end: number) => number) | null {
  const n = native();
  if (n === null) return null;
  const hw = useHardware ? n.hw : 0;
  return (crc, buf, start, end) => {
    if (end <= CHUNK) return n.sym.vb_crc32c_update(crc, buf, start, end, hw);
    for (let s = start; s < end; s += CHUNK) {
      const e = Math.min(end, s + CHUNK);
      crc = n.sym.vb_crc32c_update(crc, buf.subarray(s, e), 0, e - s, hw);
    }
    return crc;
  };
}

/** Whether the native CRC uses the SSE4.2 instruction (false: its table, or no shim). */
export function nativeCrc32cHardware(): boolean {
  return native()?.hw === 1;
}
