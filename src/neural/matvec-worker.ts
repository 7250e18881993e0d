// Worker thread of the mat-vec pool: computes row ranges of registered matrices when the pool's ctl word says so.
import { matvec, type PreparedMatrix, prepareMatrix } from "./matvec.ts";
import type { MatrixSource, PoolMessage } from "./matvec-pool.ts";
import { jitInteractive } from "../util/jit-policy.ts";
import { matvecKernelName } from "../sys/matvec.ts";

jitInteractive(); // a worker runs hot from the start (the executable starts reluctant to JIT)

declare const self: Worker;

interface Held {
  m: PreparedMatrix;
  unmap: (() => void) | null;
}

const held = new Map<number, Held>();
let ctl: Int32Array | null = null;
let xs: Float32Array | null = null;
let ys: Float32Array | null = null;
/** The pool closed: nothing is mapped any more (a registration still mapping unmaps at once). */
let stopped = false;
/** Registrations still mapping: "stopped" is said only once they have settled (terminated before, one leaked its mapping). */
const registering = new Set<Promise<unknown>>();

function drop(id: number): void {
  const h = held.get(id);
  held.delete(id);
  h?.unmap?.();
}

async function bytesOf(s: MatrixSource): Promise<{ bytes: Uint8Array; unmap: (() => void) | null }> {
  if (s.kind === "shared") return { bytes: new Uint8Array(s.buffer, s.byteOffset, s.byteLength), unmap: null };
  // The same file pages as the main thread's read-only private mapping: shared page cache, no copy.
  const { mapFileReadOnly } = await import("../sys/mmap.ts");
  const map = mapFileReadOnly(s.path, s.mapOffset, s.mapLength);
  return { bytes: map.bytes.subarray(s.byteOffset, s.byteOffset + s.byteLength), unmap: () => map.unmap() };
}

/** Job loop: waits (without blocking the message loop) for ctl[0] = 1, computes, reports in ctl[4]. */
async function serve(c: Int32Array): Promise<void> {
  for (;;) {
    const w = Atomics.waitAsync(c, 0, 0);
    if (w.async) await w.value;
    const cmd = Atomics.load(c, 0);
    if (cmd === 2) return;
    if (cmd !== 1) continue;
    let status = 1;
    try {
      const h = held.get(c[1]!);
      if (!h) throw new Error(`matrix ${c[1]} is not registered`);
      matvec(h.m, xs!, ys!, c[2]!, c[3]!);
    } catch {
      status = -1;
    }
    Atomics.store(c, 0, 0);
    Atomics.store(c, 4, status);
    Atomics.notify(c, 4);
  }
}

self.onmessage = async (e: MessageEvent<PoolMessage>) => {
  const msg = e.data;
  try {
    if (msg.op === "init") {
      ctl = new Int32Array(msg.ctl);
      xs = new Float32Array(msg.x);
      ys = new Float32Array(msg.y);
      void serve(ctl).then(() => {
        for (const id of [...held.keys()]) drop(id);
      });
      // Which kernels this thread runs: a worker whose shim failed to open would run the TypeScript ones unseen.
      self.postMessage({ op: "ack", seq: msg.seq, kernel: matvecKernelName() });
      return;
    } else if (msg.op === "register") {
      drop(msg.id);
      const mapping = bytesOf(msg.source);
      registering.add(mapping);
      let got: Awaited<typeof mapping>;
      try {
        got = await mapping;
      } finally {
        registering.delete(mapping);
      }
      if (stopped) got.unmap?.();
      else held.set(msg.id, { m: prepareMatrix(msg.type, msg.rows, msg.cols, got.bytes), unmap: got.unmap });
    } else if (msg.op === "drop") {
      drop(msg.id);
    } else if (msg.op === "stop") {
      stopped = true;
      for (const id of [...held.keys()]) drop(id);
      // Each pending registration unmaps what it mapped (stopped) once its mapping is done.
      await Promise.allSettled([...registering]);
      await Promise.resolve(); // their continuations (the unmap) run before this one
      self.postMessage({ op: "stopped", seq: msg.seq });
      return;
    }
    self.postMessage({ op: "ack", seq: msg.seq });
  } catch (err) {
    self.postMessage({ op: "error", seq: msg.seq, message: String(err) });
  }
};
