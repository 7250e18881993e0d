// One DataView per byte array, kept while the array lives: the hot codecs read and write the same buffers over and over.

const views = new WeakMap<Uint8Array, DataView>();

/**
 * The DataView over all of `b`. A new DataView per call (with `b.buffer`, which JSC materialises for
 * a small typed array) was a fifth of the evolution drain's time and most of applying a mutation.
 */
export function viewOf(b: Uint8Array): DataView {
  let v = views.get(b);
  if (v === undefined) {
    v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    views.set(b, v);
  }
  return v;
}
