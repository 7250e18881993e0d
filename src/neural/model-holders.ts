// Which NeuralRuntime holds model bytes of which buffer, and which were unmapped: no model may compute on pages another unmaps.

/** Per buffer, the runtimes with a model loaded from it, each with whether it unmaps the buffer when it lets go. */
const holders = new WeakMap<ArrayBufferLike, Map<object, boolean>>();
/** Buffers of mappings a runtime has unmapped (their views stay, their pages are gone: SIGSEGV when read). */
const unmapped = new WeakSet<ArrayBufferLike>();

/**
 * Why `runtime` may not load a model over `bytes` (`unmaps`: its source would unmap them), or null:
 * the mapping was unmapped already, or another runtime has a model in the same buffer and one of the
 * two unmaps it, so that one's cleanup() or next init() would leave the other on unmapped pages.
 */
export function bytesUnusable(runtime: object, bytes: Uint8Array, unmaps: boolean): string | null {
  if (unmapped.has(bytes.buffer)) return "these bytes were unmapped when a NeuralRuntime let go of them (cleanup() or a later init())";
  for (const [other, otherUnmaps] of holders.get(bytes.buffer) ?? []) {
    if (other === runtime) continue;
    if (otherUnmaps) return "these bytes are a mapping that another NeuralRuntime has loaded and unmaps at its cleanup() or next init()";
    if (unmaps) return "another NeuralRuntime has a model loaded from these bytes, which this source's unmap would take from it";
  }
  return null;
}

/** Records that `runtime` holds a model loaded from `bytes`. */
export function holdBytes(runtime: object, bytes: Uint8Array, unmaps: boolean): void {
  let held = holders.get(bytes.buffer);
  if (!held) holders.set(bytes.buffer, (held = new Map()));
  held.set(runtime, unmaps);
}

/** `runtime` let go of its model from `bytes`; `unmapped`: and unmapped them. */
export function releaseBytes(runtime: object, bytes: Uint8Array, wasUnmapped: boolean): void {
  holders.get(bytes.buffer)?.delete(runtime);
  if (wasUnmapped) unmapped.add(bytes.buffer);
}
