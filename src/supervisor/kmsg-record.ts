// A service's log line as one /dev/kmsg record: its priority, the service's name, the text cut to what the kernel takes.
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The kernel refuses a /dev/kmsg write over about 1 KiB (EINVAL, the record lost); what a record may hold, in bytes. */
export const KMSG_RECORD_BYTES = 976;

/** `<priority>name: line\n` in at most KMSG_RECORD_BYTES bytes: the line cut at a character boundary when longer. */
export function kmsgRecord(priority: number, name: string, line: string): Uint8Array {
  const head = enc.encode(`<${priority}>${name}: `);
  const room = Math.max(0, KMSG_RECORD_BYTES - head.length - 1);
  let text = enc.encode(line);
  if (text.length > room) {
    let end = room;
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--; // not inside a character
    text = enc.encode(dec.decode(text.subarray(0, end)));
  }
  const out = new Uint8Array(head.length + text.length + 1);
  out.set(head, 0);
  out.set(text, head.length);
  out[out.length - 1] = 0x0a;
  return out;
}
