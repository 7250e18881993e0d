// A checkpoint over the 4 GiB a boot can map (a model at the limit plus the checkpoint's metadata) was written and recorded: every boot skipped it, and once compaction had dropped the records it covered, the boot refused the journal.
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { checkpointDirOf } from "../../src/evolution/persistence.ts";
import { JournalError } from "../../src/errors.ts";
import { MAX_MAP_BYTES } from "../../src/sys/mmap.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Weights whose GGUF is `extraBytes` of zeros longer than their own (one buffer, never touched, repeated). */
class Oversized extends F32Store {
  constructor(
    base: F32Store,
    private readonly extraBytes: number,
  ) {
    super();
    for (const [k, v] of base.tensors) this.tensors.set(k, v);
  }
  override ggufChunks(extra: Record<string, bigint>): Uint8Array[] {
    const piece = new Uint8Array(1 << 30);
    const out = super.ggufChunks(extra);
    for (let left = this.extraBytes; left > 0; left -= piece.length) out.push(left >= piece.length ? piece : piece.subarray(0, left));
    return out;
  }
}

test("a checkpoint that would be over the 4 GiB a boot can map was written and recorded (then skipped at every boot); it is refused before anything is written, naming its size, and the journal keeps the records", async () => {
  const d = tempDir("vb-ckpt-limit-");
  dirs.push(d);
  const stateDir = join(d, "state");
  const evo = await openEvolution({ stateDir, runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => new Oversized(F32Store.synthetic({ "pixel.w": 4096 }, 3), MAX_MAP_BYTES) });
  try {
    const r = await evo.submit({ tensor: "pixel.w", elementOffset: 7, values: Float32Array.of(0.25), confidence: 0.9 });
    expect(r.status).toBe(0);
    const err = await evo.checkpoint().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect(String(err)).toMatch(/cannot checkpoint: the model would be \d+ bytes, more than the 4294967296 \(4 GiB\) a boot can map; the journal keeps every record/);
    const dir = checkpointDirOf(stateDir);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect(evo.stats().journalDurableSeq).toBeGreaterThanOrEqual(1);
  } finally {
    await evo.close();
  }
}, 60_000);
