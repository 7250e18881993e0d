// The channel's shared memory on the consumer's side: the sealed memfd (made, or inherited across a re-exec) mapped, ring words read and written atomically, slot views.
import { closeFd } from "../sys/fd.ts";
import { createSealedMemfd, mapShared, type SharedMapping } from "../sys/evolution.ts";
import { mapInheritedChannel } from "./handover.ts";
import { cmpSlotOffset, CONTROL_SIZE, type Geometry, regionSize, ringOffset, ringStride, SUB_SLOT_SIZE, subSlotOffset, writeHeader } from "./layout.ts";

export class ChannelRegion {
  readonly fd: number;
  readonly size: number;
  private readonly map: SharedMapping;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly subSlots: (Uint8Array | undefined)[] = [];

  /** A new sealed memfd with the channel's header, or (`inheritedFd`) the one the previous image handed over; mapped shared. */
  constructor(
    private readonly g: Geometry,
    inheritedFd?: number,
  ) {
    this.size = regionSize(g);
    if (inheritedFd !== undefined) {
      this.fd = inheritedFd;
      this.map = mapInheritedChannel(inheritedFd, g);
      this.bytes = new Uint8Array(this.map.buffer);
      this.words = new Int32Array(this.map.buffer);
      return;
    }
    this.fd = createSealedMemfd("vector-boot-evolution", this.size);
    this.map = mapShared(this.fd, this.size);
    this.bytes = new Uint8Array(this.map.buffer);
    this.words = new Int32Array(this.map.buffer);
    writeHeader(this.bytes, g, process.pid);
  }

  private word(ring: number, field: number): number {
    return (ringOffset(this.g, ring) + field) >> 2;
  }

  /** A ring's control word (`C.*`), read atomically. */
  load(ring: number, field: number): number {
    return Atomics.load(this.words, this.word(ring, field)) >>> 0;
  }

  /** Writes a ring's control word (`C.*`) atomically. */
  store(ring: number, field: number, v: number): void {
    Atomics.store(this.words, this.word(ring, field), v | 0);
  }

  /** The shared bytes of a submission slot (one view per slot, made on first use). */
  subSlot(r: number, index: number): Uint8Array {
    const g = this.g;
    const k = r * g.slots + (index & (g.slots - 1));
    let v = this.subSlots[k];
    if (v === undefined) {
      const off = subSlotOffset(g, r, index);
      v = this.subSlots[k] = this.bytes.subarray(off, off + SUB_SLOT_SIZE);
    }
    return v;
  }

  /** Zeroes every submission and completion slot of ring `r` (its control words are the caller's). */
  /**
   * Writes the header again, as made: every producer maps the region writable, and one byte written
   * into the header by one made every later session fail its checksum until the init restarted.
   */
  restoreHeader(): void {
    writeHeader(this.bytes, this.g, process.pid);
  }

  clearSlots(r: number): void {
    const at = ringOffset(this.g, r);
    this.bytes.fill(0, at + CONTROL_SIZE, at + ringStride(this.g));
  }

  /** Copies an encoded completion into completion slot `index` of ring `r`. */
  putCompletion(r: number, index: number, slot: Uint8Array): void {
    this.bytes.set(slot, cmpSlotOffset(this.g, r, index));
  }

  /** Unmaps the region; the memfd stays open. */
  unmap(): void {
    this.map.unmap();
  }

  /** Unmaps the region and closes the memfd. */
  close(): void {
    this.map.unmap();
    closeFd(this.fd);
  }
}
