// A raw TypeScript producer for in-process channel tests: writes slots itself (orderings a real client would not).
import { C, CMP_SLOT_SIZE, cmpSlotOffset, SUB_SLOT_SIZE, subSlotOffset } from "../../src/evolution/layout.ts";
import { decodeCompletion, encodeSubmission } from "../../src/evolution/slot-codec.ts";
import { openSession } from "./ts-producer.ts";

/** A raw producer: writes submission slots and rings the doorbell; never consumes completions. */
export async function rawProducer(socket: string) {
  const { sock, ring, mem, v, g, base } = await openSession(socket);
  const slot = new Uint8Array(SUB_SLOT_SIZE);
  let seq = 0n;
  let tail = 0;
  return {
    ring,
    /** Publishes `n` valid mutations (the ring must have room) and rings. */
    submit(n: number) {
      for (let i = 0; i < n; i++) {
        encodeSubmission(slot, { tensor: "pixel.w", elementOffset: Number(seq % 4000n), values: Float32Array.from([0.25]), confidence: 0.9, seq, tag: seq });
        mem.set(slot, subSlotOffset(g, ring, tail));
        seq++;
        tail = (tail + 1) >>> 0;
      }
      v.setUint32(base + C.subTail, tail, true);
      sock.write("!");
    },
    /**
     * What a weakly ordered CPU may show the consumer: the new tail (and the doorbell) first, the
     * slot's bytes `delayMs` later.
     */
    /**
     * Publishes the tail before the slot's bytes; they follow after `delay` (ms, or a step the caller
     * runs), or never (null). Until then the slot holds zeros, or with `stale` what it held before:
     * the submission of the previous lap, whose checksum is valid.
     */
    async submitTailFirst(delay: number | (() => void | Promise<void>) | null, opts: { stale?: boolean } = {}) {
      encodeSubmission(slot, { tensor: "pixel.w", elementOffset: Number(seq % 4000n), values: Float32Array.from([0.5]), confidence: 0.9, seq, tag: seq });
      const at = subSlotOffset(g, ring, tail);
      if (!opts.stale) mem.fill(0, at, at + SUB_SLOT_SIZE);
      seq++;
      tail = (tail + 1) >>> 0;
      v.setUint32(base + C.subTail, tail, true);
      sock.write("!");
      if (delay === null) return; // the bytes never come
      await (typeof delay === "number" ? Bun.sleep(delay) : delay());
      mem.set(slot, at);
      sock.write("!");
    },
    /** Marks every completion posted so far as read (cmp_head = cmp_tail): frees the ring for another lap. */
    consumeCompletions() {
      v.setUint32(base + C.cmpHead, v.getUint32(base + C.cmpTail, true), true);
    },
    /** Completions posted so far (status, tag), read from the ring (the last lap's slots: no more than `slots`). */
    completions(): { status: number; tag: bigint }[] {
      const out: { status: number; tag: bigint }[] = [];
      const ct = v.getUint32(base + C.cmpTail, true);
      for (let i = Math.max(0, ct - g.slots); i < ct; i++) {
        const o = cmpSlotOffset(g, ring, i);
        const c = decodeCompletion(mem.subarray(o, o + CMP_SLOT_SIZE));
        if (c) out.push({ status: c.status, tag: c.tag });
      }
      return out;
    },
    close: () => sock.end(),
  };
}
