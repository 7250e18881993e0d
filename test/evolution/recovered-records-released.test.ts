// PID 1 kept every record recovery read (views of whole segment buffers) for its lifetime: the journal since the older kept checkpoint, hundreds of MB at a high mutation rate.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { loadStandIn } from "./consumer.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

test("an evolution opened on 40 MB of journal held all of it on the heap after the replay: the recovered records are released once replayed", async () => {
  const d = tempDir("vb-released-");
  dirs.push(d);
  const state = join(d, "state");
  const j = Journal.open(join(state, "journal"));
  const values = new Float32Array(65536).fill(0.5);
  for (let batch = 0; batch < 16; batch++) await j.appendMany(RecordType.mutation, Array.from({ length: 10 }, () => encodeMutationRecord({ tensor: "pixel.w", elementOffset: 0, values, confidence: 0.9 })));
  await j.close();
  Bun.gc(true);
  const before = process.memoryUsage().arrayBuffers;
  const evo = await openEvolution({ stateDir: state, runDir: join(d, "run"), loadWeights: loadStandIn });
  try {
    Bun.gc(true);
    const held = process.memoryUsage().arrayBuffers - before;
    expect(held).toBeLessThan(16 << 20);
  } finally {
    await evo.close();
  }
}, 60_000);
