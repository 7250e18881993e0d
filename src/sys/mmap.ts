// Read-only, private, zero-copy file mappings through the shim (Bun.mmap maps read-write: ETXTBSY on our own exe).
import { toArrayBuffer } from "bun:ffi";
import { closeSync } from "node:fs";
import { SysError } from "../errors.ts";
import { check, cstr } from "./lib.ts";
import { bootNative } from "./native-boot.ts";

export interface MappedFile {
  /** The mapped bytes; valid until `unmap()` (touching them afterwards is a use-after-free). */
  readonly bytes: Uint8Array;
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  unmap(): void;
}

export const pageSize = (): number => Number(bootNative().vb_page_size());

/** Largest mapping these functions make: Bun makes no ArrayBuffer over more (toArrayBuffer threw "RangeError: Out of memory" after mmap succeeded). */
export const MAX_MAP_BYTES = 2 ** 32;

function checkMapLength(path: string, length: number): void {
  if (length > MAX_MAP_BYTES) throw new SysError("mmap", "EOVERFLOW", 75, `${path}: ${length} bytes is more than the ${MAX_MAP_BYTES} (4 GiB) a mapping can hold`);
}

/** Size of a file in bytes (stat). */
export function fileSize(path: string): number {
  const out = new Float64Array(1);
  check(bootNative().vb_file_size(cstr(path), out), "stat", path);
  return out[0]!;
}

/**
 * Maps `length` bytes of `path` from `offset` (page-aligned) read-only. Length defaults to the rest
 * of the file. The returned view is over the mapping itself: nothing is copied to the heap.
 */
export function mapFileReadOnly(path: string, offset = 0, length?: number): MappedFile {
  const size = fileSize(path);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % pageSize() !== 0) {
    throw new SysError("mmap", "EINVAL", 22, `${path}: offset ${offset} is not a page-aligned byte offset`);
  }
  const len = length ?? size - offset;
  if (!Number.isSafeInteger(len) || len <= 0 || offset + len > size) {
    throw new SysError("mmap", "EINVAL", 22, `${path}: range [${offset}, ${offset + len}) outside the file (${size} bytes)`);
  }
  checkMapLength(path, len);
  const addrOut = new Float64Array(1);
  check(bootNative().vb_mmap_ro(cstr(path), offset, len, addrOut), "mmap", path);
  const addr = addrOut[0]!;
  const bytes = new Uint8Array(toArrayBuffer(addr as unknown as import("bun:ffi").Pointer, 0, len));
  let mapped = true;
  return {
    bytes,
    path,
    offset,
    length: len,
    unmap() {
      if (!mapped) return;
      mapped = false;
      check(bootNative().vb_munmap(addr, len), "munmap", path);
    },
  };
}

/**
 * A private copy of [offset, offset+length) of `path` in a sealed memfd (no one can truncate or
 * rewrite it), mapped read-only. For models read from files someone may replace under us: a
 * mapping of the file itself would raise SIGBUS at the next touch, which kills PID 1. `mapPath`
 * (/proc/self/fd/N) maps the same bytes again in this process (worker threads).
 */
export function mapSealedCopy(path: string, offset: number, length: number): MappedFile & { mapPath: string } {
  checkMapLength(path, length); // before the copy, not after copying what cannot be mapped
  const fd = check(bootNative().vb_sealed_copy(cstr(path), offset, length), "memfd copy", `${path} [${offset}, +${length})`);
  const mapPath = `/proc/self/fd/${fd}`;
  let m: MappedFile;
  try {
    m = mapFileReadOnly(mapPath, 0, length);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    ...m,
    path,
    offset,
    mapPath,
    unmap() {
      m.unmap();
      if (open) closeSync(fd);
      open = false;
    },
  };
}
