// A journal record whose checksum holds but whose body does not decode: the boot and `journal verify` agree it is corrupt, name it, and --repair cuts it.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runJournalCommand as cli } from "../journal/journal-command.ts";
import { JournalError } from "../../src/errors.ts";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { encodeCheckpointRecord } from "../../src/journal/checkpoint-record.ts";
import { RecordType, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { loadStandIn } from "./consumer.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const good = (i: number) => encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i), confidence: 0.9 });

/** A state dir whose journal holds good, good, `bad` (written through the journal: its checksum holds), good. */
async function stateWithBody(type: number, bad: Uint8Array): Promise<{ state: string; badOffset: number }> {
  const d = tempDir("vb-malformed-");
  dirs.push(d);
  const state = join(d, "state");
  const j = Journal.open(join(state, "journal"));
  await j.append(RecordType.mutation, good(0));
  await j.append(RecordType.mutation, good(1));
  await j.append(type, bad);
  await j.append(RecordType.mutation, good(3));
  await j.close();
  const badOffset = recoverJournal(join(state, "journal"), { readOnly: true }).records[2]!.offset;
  return { state, badOffset };
}

const boot = (state: string) => openEvolution({ stateDir: state, runDir: join(state, "..", "run"), loadWeights: loadStandIn });

/** A mutation body of another version: the CRC holds, decodeMutationRecord refuses it. */
const wrongVersion = (() => {
  const b = good(2).slice();
  b[0] = 2;
  return b;
})();
/** A checkpoint body whose name length runs past the payload. */
const shortCheckpoint = (() => {
  const b = encodeCheckpointRecord({ coveredSeq: 1, file: "ckpt-00000000000000000001.gguf", size: 10, crc: 0 });
  return b.subarray(0, b.length - 3);
})();

for (const [what, type, body] of [
  ["mutation", RecordType.mutation, wrongVersion],
  ["checkpoint", RecordType.checkpoint, shortCheckpoint],
] as const) {
  test(`malformed-${what}-body-with-valid-crc: verify said OK (exit 0) and --repair could not cut it while the boot stopped on it without naming the record; now both call it corrupt at its segment and offset, and --repair cuts it`, async () => {
    const { state, badOffset } = await stateWithBody(type, body);

    // The boot refuses it, naming segment, offset and the record's sequence, and the repair.
    let err: unknown = null;
    try {
      await (await boot(state)).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalError);
    expect((err as Error).message).toContain(`journal corrupt in segment ${join(state, "journal", segmentFileName(1))} at byte offset ${badOffset}`);
    expect((err as Error).message).toContain("record 3");
    expect((err as Error).message).toContain("verify --repair");

    // verify agrees (exit 65, CANNOT BOOT) and changes nothing.
    const v = await cli(["verify", "--state", state]);
    expect({ code: v.code, corrupt: v.out.includes(`CORRUPT (acknowledged data damaged) in ${segmentFileName(1)} at byte ${badOffset}`), cannotBoot: v.out.includes("CANNOT BOOT") }).toEqual({ code: 65, corrupt: true, cannotBoot: true });
    expect(recoverJournal(join(state, "journal"), { readOnly: true }).records.length).toBe(4);
    // inspect names it too (and does not crash on it).
    const i = await cli(["inspect", "--state", state, "--records"]);
    expect(i.code).toBe(0);
    expect(i.out).toContain(`DAMAGE (corrupt) in ${segmentFileName(1)} at byte ${badOffset}`);

    // --repair cuts there (the operator's choice: record 3 on), then the journal boots with records 1 and 2.
    const r = await cli(["verify", "--state", state, "--repair"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`cut there: sequence 3 on dropped`);
    expect((await cli(["verify", "--state", state])).code).toBe(0);
    const evo = await boot(state);
    expect({ replayed: evo.stats().replayed, next: evo.stats().journalNextSeq }).toEqual({ replayed: 2, next: 3 });
    await evo.close();
  });
}
