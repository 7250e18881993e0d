// Minimal TypeScript producer for in-process tests (the Python client is the real one).
import { C, CMP_SLOT_SIZE, cmpSlotOffset, type Geometry, SUB_SLOT_SIZE, subSlotOffset } from "../../src/evolution/layout.ts";
import { type Completion, decodeCompletion, encodeSubmission, type Mutation } from "../../src/evolution/slot-codec.ts";

/**
 * A producer session: connected, hello read (bounded), the channel memory mapped, this ring's
 * geometry. `onBell` is called for each doorbell the consumer rings after the hello.
 */
export async function openSession(socket: string, onBell?: () => void) {
  let buf = "";
  let resolveHello: (h: any) => void;
  const hello = new Promise<any>((r) => (resolveHello = r));
  const sock = await Bun.connect({
    unix: socket,
    socket: {
      data(_s, d) {
        if (buf.includes("\n")) return onBell?.();
        buf += d.toString();
        if (buf.includes("\n")) resolveHello(JSON.parse(buf.slice(0, buf.indexOf("\n"))));
      },
    },
  });
  const h = await Promise.race([hello, Bun.sleep(5000).then(() => Promise.reject(new Error("no hello")))]);
  const mem = Bun.mmap(h.path, { shared: true });
  const v = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const g: Geometry = { rings: v.getUint32(12, true), slots: v.getUint32(20, true) };
  const base = 4096 + h.ring * v.getUint32(16, true);
  return { sock, ring: h.ring as number, mem, v, g, base };
}

export async function tsProducer(socket: string) {
  const { sock, ring, mem, v, g, base } = await openSession(socket);
  let seq = 0n;
  let tail = 0;
  let cmpHead = 0;
  const slot = new Uint8Array(SUB_SLOT_SIZE);
  return {
    /** Submits `muts` (at most one ring's worth at a time) and returns their completions in order. */
    async submit(muts: Mutation[], timeoutMs = 10000): Promise<Completion[]> {
      const out: Completion[] = [];
      const end = Date.now() + timeoutMs;
      for (let i = 0; i < muts.length; i += g.slots) {
        const chunk = muts.slice(i, i + g.slots);
        for (const m of chunk) {
          encodeSubmission(slot, { ...m, seq, tag: seq });
          mem.set(slot, subSlotOffset(g, ring, tail));
          seq++;
          tail = (tail + 1) >>> 0;
        }
        v.setUint32(base + C.subTail, tail, true);
        sock.write("!");
        while (out.length < i + chunk.length) {
          if (Date.now() > end) throw new Error("timed out waiting for completions");
          const ct = v.getUint32(base + C.cmpTail, true);
          while (cmpHead !== ct) {
            const o = cmpSlotOffset(g, ring, cmpHead);
            out.push(decodeCompletion(mem.subarray(o, o + CMP_SLOT_SIZE))!);
            cmpHead = (cmpHead + 1) >>> 0;
          }
          v.setUint32(base + C.cmpHead, cmpHead, true);
          await Bun.sleep(1);
        }
      }
      return out.sort((a, b) => Number(a.seq - b.seq));
    },
    close: () => sock.end(),
  };
}
