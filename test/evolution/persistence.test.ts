// Checkpoints and boot: newest verified checkpoint + replay; damaged checkpoints fall back; failed fsync rejects.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Evolution, type EvolutionOptions, openEvolution } from "../../src/evolution/evolution.ts";
import { checkpointDirOf } from "../../src/evolution/persistence.ts";
import { statusName } from "../../src/evolution/reasons.ts";
import type { Mutation } from "../../src/evolution/slot-codec.ts";
import { JournalError } from "../../src/errors.ts";
import { F32Store } from "./f32-store.ts";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType, segmentFileName } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { loadStandIn } from "./consumer.ts";
import { removeDir, tempDir } from "./harness.ts";
import { at, runUnderStrace } from "../journal/sync-under-strace.ts";
import { tsProducer } from "./ts-producer.ts";

type W = ReturnType<typeof loadStandIn>;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function fresh() {
  const d = tempDir("vb-persist-");
  dirs.push(d);
  return { stateDir: join(d, "state"), runDir: join(d, "run") };
}
const open = (d: { stateDir: string; runDir: string }, extra: Partial<EvolutionOptions<W>> = {}) =>
  openEvolution<W>({ ...d, loadWeights: loadStandIn, ...extra });

const muts = (n: number, k: number): Mutation[] =>
  Array.from({ length: n }, (_, i) => ({ tensor: "pixel.w", elementOffset: (i * 37 + k) % 4000, values: Float32Array.of(i + k, -k), confidence: 0.9 }));

async function mutate(evo: Evolution<W>, m: Mutation[]): Promise<string[]> {
  const p = await tsProducer(evo.socketPath);
  try {
    return (await p.submit(m)).map((c) => statusName[c.status]!);
  } finally {
    p.close();
  }
}

describe("persistence", () => {
  test("boots from the newest checkpoint and replays only the records after it", async () => {
    const d = fresh();
    let evo = await open(d);
    expect(await mutate(evo, muts(50, 1))).toEqual(Array(50).fill("ACCEPTED"));
    const ck = await evo.checkpoint();
    // The checkpoint's age (what `vector-boot top` shows): written now, then, after the reboot, the file's mtime.
    expect(evo.stats().lastCheckpoint).toMatchObject({ file: ck.file, coveredSeq: ck.coveredSeq });
    expect(Math.abs(evo.stats().lastCheckpoint!.writtenAt - Date.now())).toBeLessThan(5000);
    await mutate(evo, muts(20, 2));
    const sum = evo.weights.checksum();
    await evo.close();
    evo = await open(d);
    const st = evo.stats();
    expect(st.bootCheckpoint).toBe(join(checkpointDirOf(d.stateDir), ck.file));
    expect(st.lastCheckpoint).toEqual({ file: ck.file, coveredSeq: ck.coveredSeq, writtenAt: Math.round(statSync(st.bootCheckpoint!).mtimeMs), ageMs: expect.any(Number) });
    expect(st.replayed).toBe(20);
    expect(evo.weights.checksum()).toBe(sum);
    await evo.close();
  });

  test("falls back to the older checkpoint when the newest fails its recorded checksum", async () => {
    const d = fresh();
    let evo = await open(d);
    await mutate(evo, muts(30, 1));
    const older = await evo.checkpoint();
    await mutate(evo, muts(30, 2));
    const newest = await evo.checkpoint();
    await mutate(evo, muts(5, 3));
    const sum = evo.weights.checksum();
    await evo.close();
    const p = join(checkpointDirOf(d.stateDir), newest.file);
    const b = readFileSync(p);
    b[b.length - 3]! ^= 0x10; // bit rot inside the tensor data
    writeFileSync(p, b);
    evo = await open(d);
    expect(evo.stats().bootCheckpoint).toBe(join(checkpointDirOf(d.stateDir), older.file));
    expect(evo.stats().replayed).toBe(35);
    expect(evo.weights.checksum()).toBe(sum);
    await evo.close();
  });

  test("ignores a checkpoint file that has no journal record (crash between rename and record)", async () => {
    const d = fresh();
    let evo = await open(d);
    await mutate(evo, muts(10, 1));
    const ck = await evo.checkpoint();
    await mutate(evo, muts(10, 2));
    const sum = evo.weights.checksum();
    await evo.close();
    const dir = checkpointDirOf(d.stateDir);
    // Stale content under a newer name, within the journal (a name past its end would mean lost history: refused).
    copyFileSync(join(dir, ck.file), join(dir, "ckpt-00000000000000000020.gguf"));
    evo = await open(d);
    expect(evo.stats().bootCheckpoint).toBe(join(dir, ck.file));
    expect(evo.weights.checksum()).toBe(sum);
    await evo.close();
  });

  test("compaction drops covered segments, and refuses to boot when the checkpoints covering them are damaged", async () => {
    const d = fresh();
    let evo = await open(d, { journal: { segmentBytes: 2048 } });
    for (let round = 0; round < 3; round++) {
      await mutate(evo, muts(40, round));
      await evo.checkpoint();
    }
    const sum = evo.weights.checksum();
    await evo.close();
    const segs = readdirSync(join(d.stateDir, "journal")).sort();
    expect(segs[0]).not.toBe("00000000000000000001.vbj"); // the oldest records are gone
    evo = await open(d, { journal: { segmentBytes: 2048 } });
    expect(evo.weights.checksum()).toBe(sum);
    await evo.close();
    const dir = checkpointDirOf(d.stateDir);
    const files = readdirSync(dir).sort();
    for (const f of files) writeFileSync(join(dir, f), "garbage");
    await expect(open(d)).rejects.toThrow(JournalError);
    await expect(open(d)).rejects.toThrow(/journal starts at sequence \d+ but the base model needs records from 1/);
    // Each skipped checkpoint is named with why: a read error was "missing or damaged" like a deleted one (an unreadable one is EACCES as a user; a directory, EISDIR).
    await expect(open(d)).rejects.toThrow(`${files.at(-1)}: fails its recorded size or checksum`);
    rmSync(join(dir, files.at(-1)!));
    mkdirSync(join(dir, files.at(-1)!));
    await expect(open(d)).rejects.toThrow(/EISDIR/);
  });

  test("a failed fsync rejects the mutations it held as JOURNAL_FAILED (outcome unknown), the later ones the stopped journal never wrote as NOT_TAKEN, and the channel keeps answering", async () => {
    // A child process under strace: the real fdatasync of the journal segment fails with EIO once
    // the state dir has been moved to <d>/failing (strace fails that path's syncs, see sync-under-strace.ts).
    const d = tempDir("vb-persist-eio-");
    dirs.push(d);
    const script = `
import { renameSync } from "node:fs";
import { openEvolution } from ${at("src/evolution/evolution.ts")};
import { statusName } from ${at("src/evolution/reasons.ts")};
import { loadStandIn } from ${at("test/evolution/consumer.ts")};
import { tsProducer } from ${at("test/evolution/ts-producer.ts")};
const d = process.argv[2];
const muts = ${muts.toString()};
async function mutate(evo, m) {
  const p = await tsProducer(evo.socketPath);
  try {
    return (await p.submit(m)).map((c) => statusName[c.status]);
  } finally {
    p.close();
  }
}
const evo = await openEvolution({ stateDir: d + "/ok/state", runDir: d + "/run", loadWeights: loadStandIn });
const r = { first: await mutate(evo, muts(3, 1)) };
const before = evo.weights.checksum();
renameSync(d + "/ok", d + "/failing"); // the disk fails
r.second = await mutate(evo, muts(3, 2));
renameSync(d + "/failing", d + "/ok"); // the journal stays stopped: nothing is acknowledged after an fsync failure
r.third = await mutate(evo, muts(2, 3));
r.unchanged = evo.weights.checksum() === before;
r.journalFailed = evo.stats().journalFailed;
r.checkpoint = await evo.checkpoint().then(() => "written", (e) => e.message);
await evo.close();
console.log(JSON.stringify(r));
`;
    const failAt = join(d, "failing", "state", "journal", segmentFileName(1));
    const { result, syncs } = await runUnderStrace<any>(d, "eio", script, [d], { failAt });
    expect(result.first).toEqual(["ACCEPTED", "ACCEPTED", "ACCEPTED"]);
    expect(result.second).toEqual(["JOURNAL_FAILED", "JOURNAL_FAILED", "JOURNAL_FAILED"]);
    // Never written (the journal had stopped): not "outcome unknown" as they were.
    expect(result.third).toEqual(["NOT_TAKEN", "NOT_TAKEN"]);
    expect(result.unchanged).toBe(true);
    expect(result.journalFailed).toContain("fdatasync");
    expect(result.checkpoint).toMatch(/journal has stopped/);
    expect(syncs.map((s) => s.result.includes("EIO") && s.result.includes("INJECTED"))).toEqual([true]);
  }, 60_000);
  test("refuses a session-socket directory that is a symlink (it could expose the socket elsewhere)", async () => {
    const d = fresh();
    const elsewhere = join(d.stateDir, "..", "elsewhere");
    mkdirSync(elsewhere, { mode: 0o755 });
    symlinkSync(elsewhere, d.runDir);
    await expect(open(d)).rejects.toThrow(/cannot use evolution run directory/);
  });

  test("an open that failed after the journal opened kept the state dir locked: PID 1 went on without evolution and the `journal verify --repair` it advised was refused", async () => {
    const d = fresh();
    // Fails at each step after the lock: loading the weights, then (the run dir refused) making the socket.
    await expect(open(d, { loadWeights: async () => Promise.reject(new Error("weights unreadable")) })).rejects.toThrow("weights unreadable");
    writeFileSync(join(d.stateDir, "..", "not-a-dir"), "x");
    await expect(open({ ...d, runDir: join(d.stateDir, "..", "not-a-dir") })).rejects.toThrow(/cannot use evolution run directory/);
    // Nothing of either attempt is left holding the state dir: the next open gets it.
    const evo = await open(d);
    expect(await mutate(evo, muts(3, 1))).toEqual(Array(3).fill("ACCEPTED"));
    await evo.close();
  });

  test("a directory named *.tmp in the checkpoint directory stopped evolution from opening (unlink of a directory threw); only stale .tmp files are removed", async () => {
    const d = fresh();
    const ckDir = checkpointDirOf(d.stateDir);
    mkdirSync(join(ckDir, "someone.tmp"), { recursive: true });
    writeFileSync(join(ckDir, "half-written.tmp"), "x");
    const evo = await open(d);
    expect(readdirSync(ckDir)).toEqual(["someone.tmp"]);
    await evo.close();
  });

  test("a checkpoint written while mutations keep arriving holds exactly the records it claims to cover", async () => {
    const d = fresh();
    const evo = await open(d);
    await mutate(evo, muts(40, 1));
    const [ck] = await Promise.all([evo.checkpoint(), mutate(evo, muts(60, 2)), mutate(evo, muts(60, 3))]);
    await evo.close();
    const file = F32Store.fromGguf(readFileSync(join(checkpointDirOf(d.stateDir), ck.file)));
    const expected = loadStandIn(null);
    for (const r of recoverJournal(join(d.stateDir, "journal")).records) {
      if (r.seq > ck.coveredSeq || r.type !== RecordType.mutation) continue;
      const m = decodeMutationRecord(r.payload);
      expected.applyMutation(m.tensor, m.elementOffset, m.values);
    }
    expect(file.checksum()).toBe(expected.checksum());
    expect(ck.coveredSeq).toBeGreaterThanOrEqual(40);
    expect(evo.stats().journalNextSeq).toBeGreaterThan(160);
  });
});
