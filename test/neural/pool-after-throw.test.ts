// A pooled product whose own rows threw left the workers running that job: one that finished afterwards cleared the next job's command and said it done, and the next product returned stale rows, with no error.
import { expect, test } from "bun:test";
import { MatvecPool } from "../../src/neural/matvec-pool.ts";
import { matvecReference, prepareMatrix } from "../../src/neural/matvec.ts";

test("after a pooled product that threw (x too short), the next product's rows are right and the pool is not broken", async () => {
  // Big enough that the workers are still computing the job that threw when the next one is posted.
  const rows = 4096;
  const cols = rows;
  const sab = new SharedArrayBuffer(rows * cols * 4);
  const w = new Float32Array(sab);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const bytes = new Uint8Array(sab);
  const m = prepareMatrix(0, rows, cols, bytes);
  const pool = await MatvecPool.start(2, cols, rows, 5000);
  try {
    await pool.register(1, m, { kind: "shared", buffer: sab, byteOffset: 0, byteLength: bytes.byteLength });
    const good = new Float32Array(cols).fill(1);
    const want = new Float32Array(rows);
    matvecReference(m, good, want);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let wrong = 0;
    for (let k = 0; k < 20; k++) {
      expect(() => pool.matvec(1, m, new Float32Array(10).fill(-3), new Float32Array(rows))).toThrow();
      // The workers wake for it (Atomics.waitAsync) and start on it before the next product is posted.
      Atomics.wait(nap, 0, 0, 0.5);
      const y = new Float32Array(rows);
      pool.matvec(1, m, good, y);
      let maxErr = 0;
      for (let i = 0; i < rows; i++) maxErr = Math.max(maxErr, Math.abs(y[i]! - want[i]!));
      if (maxErr > 1e-2) wrong++;
    }
    expect({ wrong, broken: pool.stats.broken }).toEqual({ wrong: 0, broken: false });
    expect(pool.stats.parallelRuns).toBeGreaterThanOrEqual(20);
  } finally {
    pool.close();
  }
}, 60_000);
