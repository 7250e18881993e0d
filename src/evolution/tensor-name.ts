// A tensor name as UTF-8 bytes and as text, the last one remembered: a producer tuning one tensor sends the same name every time.

const enc = new TextEncoder();
// ignoreBOM: a leading EF BB BF is part of the name (dropped, "\uFEFFpixel.1.bias" matched pixel.1.bias and the journal kept bytes that name no tensor).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The last name seen, both ways: decoding a slot fills it, encoding that mutation's record hits it. */
let text = "";
let bytes = new Uint8Array(0);

/** The UTF-8 bytes of `name` (shared: never written into). */
export function nameBytes(name: string): Uint8Array {
  if (name !== text) {
    bytes = enc.encode(name);
    text = name;
  }
  return bytes;
}

/** The name in `b[start, start + len)`, or null when those bytes are not UTF-8. */
export function nameText(b: Uint8Array, start: number, len: number): string | null {
  if (len === bytes.length) {
    let same = true;
    for (let i = 0; i < len && same; i++) same = b[start + i] === bytes[i];
    if (same) return text;
  }
  let t: string;
  try {
    t = utf8.decode(b.subarray(start, start + len));
  } catch {
    return null;
  }
  bytes = b.slice(start, start + len);
  text = t;
  return t;
}
