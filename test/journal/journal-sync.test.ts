// Cortex journal against the real fdatasync (a child process under strace): group commit, ack after fsync, failed fsync.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { segmentFileName } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { removeDir, tempDir } from "../evolution/harness.ts";
import { at, runUnderStrace, type SyncCall } from "./sync-under-strace.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function fresh(): string {
  const d = tempDir("vb-journal-sync-");
  dirs.push(d);
  return d;
}

/**
 * The script's start: a journal opened in `<d>/ok`; `diskFails()` renames that directory to
 * `<d>/failing` (the path whose fdatasync strace fails), `diskHeals()` renames it back.
 */
const prelude = `
import { renameSync } from "node:fs";
import { JournalError } from ${at("src/errors.ts")};
import { RecordType } from ${at("src/journal/format.ts")};
import { Journal } from ${at("src/journal/journal.ts")};
import { nowMs, syncInFlight, until } from ${at("test/journal/sync-probe.ts")};
const d = process.argv[2];
const payload = (i, len = 10 + (i % 23)) => Uint8Array.from({ length: len }, (_, k) => (i * 31 + k) & 0xff);
const batch = (j, from, n) => Promise.all(Array.from({ length: n }, (_, k) => j.append(RecordType.mutation, payload(from + k))));
const diskFails = () => renameSync(d + "/ok", d + "/failing");
const diskHeals = () => renameSync(d + "/failing", d + "/ok");
const outcome = (p) => p.then((v) => ({ ok: v }), (e) => ({ err: e.message, journalError: e instanceof JournalError }));
const j = Journal.open(d + "/ok");
`;
const okSeg = (d: string) => join(d, "ok", segmentFileName(1));
const failingSeg = (d: string) => join(d, "failing", segmentFileName(1));
const of = (syncs: SyncCall[], path: string) => syncs.filter((s) => s.path === path);
const injectedEio = (syncs: SyncCall[]) => syncs.map((s) => s.result.includes("EIO") && s.result.includes("INJECTED"));

describe("journal against the real fdatasync", () => {
  test("group commit: 200 records appended in one tick cost one fsync", async () => {
    const d = fresh();
    const script = `${prelude}
const seqs = await batch(j, 0, 200);
const batches = j.stats.batches;
await j.close();
console.log(JSON.stringify({ seqs, batches }));
`;
    const { result, syncs } = await runUnderStrace<{ seqs: number[]; batches: number }>(d, "group", script, [d]);
    expect(result).toEqual({ seqs: Array.from({ length: 200 }, (_, i) => i + 1), batches: 1 });
    expect(of(syncs, okSeg(d)).length).toBe(1);
  }, 60_000);

  test("does not acknowledge a record before the fsync covering it has completed", async () => {
    const d = fresh();
    // Each fdatasync returns 300 ms late: an acknowledgement that did not wait for it comes at once.
    const script = `${prelude}
let ackedAt = 0;
const p = j.append(RecordType.mutation, payload(1)).then(() => (ackedAt = nowMs()));
await until(syncInFlight, "the append's fdatasync");
const during = { acked: ackedAt !== 0, durableSeq: j.durableSeq };
await p;
const after = { durableSeq: j.durableSeq };
await j.close();
console.log(JSON.stringify({ during, after, ackedAt }));
`;
    const { result, syncs } = await runUnderStrace<{ during: object; after: object; ackedAt: number }>(d, "ack", script, [d], { delayUs: 300_000 });
    expect({ during: result.during, after: result.after }).toEqual({ during: { acked: false, durableSeq: 0 }, after: { durableSeq: 1 } });
    const seg = of(syncs, okSeg(d));
    expect(seg.map((s) => s.result)).toEqual(["0 (DELAYED)"]);
    // Acknowledged no sooner than the fdatasync returned (entered + 300 ms; 50 ms for the two clocks).
    expect(result.ackedAt - seg[0]!.atMs).toBeGreaterThan(250);
  }, 60_000);

  test("records appended while an fsync is in flight go into the next batch", async () => {
    const d = fresh();
    const script = `${prelude}
const first = batch(j, 0, 3);
await until(syncInFlight, "the first batch's fdatasync");
const appendedAt = nowMs();
const second = batch(j, 3, 4);
await Promise.all([first, second]);
const batches = j.stats.batches;
await j.close();
console.log(JSON.stringify({ appendedAt, batches }));
`;
    const { result, syncs } = await runUnderStrace<{ appendedAt: number; batches: number }>(d, "inflight", script, [d], { delayUs: 500_000 });
    const seg = of(syncs, okSeg(d));
    expect({ syncs: seg.length, batches: result.batches }).toEqual({ syncs: 2, batches: 2 });
    // The second batch was appended while the first fdatasync was in flight (the script saw a thread
    // in it; strace stamps the entry when it gets to it, and the clocks differ by a little: 50 ms
    // either way), long before it returned (500 ms after its entry).
    expect(result.appendedAt).toBeGreaterThan(seg[0]!.atMs - 50);
    expect(result.appendedAt).toBeLessThan(seg[0]!.atMs + 400);
    expect(recoverJournal(join(d, "ok")).records.length).toBe(7);
  }, 60_000);

  test("a failed fsync stops the journal: that batch and every later append are rejected", async () => {
    const d = fresh();
    const script = `${prelude}
const first = await outcome(j.append(RecordType.mutation, payload(1)));
diskFails();
const second = await outcome(j.append(RecordType.mutation, payload(2)));
const failed = j.failed instanceof JournalError;
diskHeals(); // the journal stays stopped
const third = await outcome(j.append(RecordType.mutation, payload(3)));
const statsFailed = j.stats.failed;
await j.close();
console.log(JSON.stringify({ first, second, failed, third, statsFailed }));
`;
    const { result, syncs } = await runUnderStrace<any>(d, "eio", script, [d], { failAt: failingSeg(d) });
    expect(result.first).toEqual({ ok: 1 });
    expect(result.second.err).toMatch(/fdatasync of journal .* failed/);
    expect(result.failed).toBe(true);
    expect(result.third.journalError).toBe(true);
    expect(result.statsFailed).toContain("fdatasync");
    expect(injectedEio(syncs)).toEqual([true]); // the real syscall failed once; nothing was synced after
  }, 60_000);

  test("a failed fsync left its batch in the segment (the page cache keeps it, the kernel reports the error once): a journal opened again on the directory (a live re-exec, a restart without a power cut) read it as durable and appended after it; the batch is now cut off", async () => {
    const d = fresh();
    const script = `${prelude}
const { statSync } = await import("node:fs");
await j.append(RecordType.mutation, payload(1));
const durableSize = statSync(d + "/ok/" + ${JSON.stringify(segmentFileName(1))}).size;
diskFails();
const lost = await outcome(j.append(RecordType.mutation, payload(2, 300)));
const sizeAfter = statSync(d + "/failing/" + ${JSON.stringify(segmentFileName(1))}).size;
await j.close().catch(() => undefined);
diskHeals();
const again = Journal.open(d + "/ok");
const next = await again.append(RecordType.mutation, payload(3));
await again.close();
console.log(JSON.stringify({ durableSize, lost, sizeAfter, next }));
`;
    const { result } = await runUnderStrace<any>(d, "eio-cut", script, [d], { failAt: failingSeg(d) });
    expect(result.lost.journalError).toBe(true);
    // Before: the failed record stayed (size grew by it), the next journal counted it and went on at 3.
    expect({ sizeAfter: result.sizeAfter, next: result.next }).toEqual({ sizeAfter: result.durableSize, next: 2 });
    expect(recoverJournal(join(d, "ok")).records.map((r) => r.seq)).toEqual([1, 2]);
  }, 60_000);

  test("durableThrough resolves once its records are durable, whatever is appended after; and at once when the journal stopped", async () => {
    const d = fresh();
    const script = `${prelude}
const first = j.append(RecordType.mutation, payload(1));
const waited = j.durableThrough(1).then(() => j.durableSeq);
void j.append(RecordType.mutation, payload(2)); // same batch
const durableWhenResolved = await waited;
await first;
diskFails();
const lost = j.append(RecordType.mutation, payload(3)).catch(() => "rejected");
await j.durableThrough(3);
const afterFailure = { lost: await lost, failed: j.failed !== null };
await j.durableThrough(3); // stopped: at once
await j.close();
console.log(JSON.stringify({ durableWhenResolved, afterFailure }));
`;
    const { result, syncs } = await runUnderStrace<any>(d, "durable", script, [d], { failAt: failingSeg(d) });
    expect(result.durableWhenResolved).toBeGreaterThanOrEqual(1);
    expect(result.afterFailure).toEqual({ lost: "rejected", failed: true });
    expect(injectedEio(syncs)).toEqual([true]);
  }, 60_000);

  test("a group appended together (one drain's mutations) gets consecutive sequences and one fsync, and a failed fsync acknowledges none of it", async () => {
    const d = fresh();
    const script = `${prelude}
const single = j.append(RecordType.mutation, payload(0));
let first = -1;
const group = j.appendMany(RecordType.mutation, [payload(1), payload(2), payload(3)], (s) => (first = s));
const firstSeq = first;
const acked = [await single, await group];
const before = { durableSeq: j.durableSeq, records: j.stats.records };
diskFails();
const second = await outcome(j.appendMany(RecordType.mutation, [payload(4), payload(5)]));
const durableAfter = j.durableSeq;
const empty = await outcome(j.appendMany(RecordType.mutation, []));
await j.close();
console.log(JSON.stringify({ firstSeq, acked, before, second, durableAfter, empty }));
`;
    // Undisturbed, every fdatasync is traced: the single and the group took one (on <d>/ok), the
    // next group one more (on <d>/failing).
    const clean = await runUnderStrace<any>(d, "group-clean", script, [d]);
    expect(of(clean.syncs, okSeg(d)).length).toBe(1);
    expect(of(clean.syncs, failingSeg(d)).length).toBe(1);
    expect(clean.result.second).toEqual({ ok: 5 });
    // With that second fdatasync failing: none of the group is acknowledged.
    const e = fresh();
    const { result, syncs } = await runUnderStrace<any>(e, "group-eio", script, [e], { failAt: failingSeg(e) });
    expect({ firstSeq: result.firstSeq, acked: result.acked, before: result.before }).toEqual({ firstSeq: 2, acked: [1, 2], before: { durableSeq: 4, records: 4 } });
    expect(result.second.err).toMatch(/fdatasync of journal .* failed/);
    expect(result.durableAfter).toBe(4);
    expect(result.empty.journalError).toBe(true);
    expect(injectedEio(syncs)).toEqual([true]);
    // On disk: the acknowledged four, in order, each readable.
    const payload = (i: number, len = 10 + (i % 23)) => Uint8Array.from({ length: len }, (_, k) => (i * 31 + k) & 0xff);
    const rec = recoverJournal(join(e, "failing"));
    expect(rec.records.slice(0, 4).map((r) => [r.seq, [...r.payload]])).toEqual([0, 1, 2, 3].map((i) => [i + 1, [...payload(i)]]));
  }, 60_000);
});
