// Releases the executable's start-up-only pages (MADV_PAGEOUT over its loaded segments) through the shim.
import { FFIType } from "bun:ffi";
import { check, lazyShim } from "./lib.ts";

const lib = lazyShim({
  vb_trim_image_start: { args: [], returns: FFIType.i32 },
  vb_trim_image_result: { args: [FFIType.ptr], returns: FFIType.i32 },
});

/**
 * Starts MADV_PAGEOUT over the executable's loaded segments on a native thread (the caller does not
 * wait the reclaim); `done()` is null while it runs, then the bytes advised. Throws SysError: the
 * start (EBUSY while one runs), or `done()` for a kernel that refuses it (EINVAL before Linux 5.4).
 */
export function startImageTrim(): { done(): number | null } {
  check(lib.vb_trim_image_start(), "pthread_create", "the image trim's thread");
  const out = new Float64Array(1);
  return {
    done: () => (check(lib.vb_trim_image_result(out), "madvise(MADV_PAGEOUT)", "the executable's segments") === 0 ? null : out[0]!),
  };
}
