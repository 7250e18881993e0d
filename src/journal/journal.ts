// The cortex journal writer: append, group commit (one write + one fdatasync per batch), ack after durability.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { describeError, JournalError } from "../errors.ts";
import { logger } from "../log.ts";
import { encodeBatch, encodeSegmentHeader, MAX_PAYLOAD, RECORD_HEADER_SIZE, type RecordRun, RecordType, segmentFileName } from "./format.ts";
import { type CheckpointRecord, encodeCheckpointRecord } from "./checkpoint-record.ts";
import { fsyncDir, makeDirDurable, writeAll, writeFileAtomic, writeFileAtomicAsync } from "./fs-durable.ts";
import { type RecoverOptions, type RecoveryResult, recoverJournal } from "./recovery.ts";
import { removeCoveredSegments } from "./segment-compaction.ts";

const log = logger("journal");

export interface JournalOptions extends RecoverOptions {
  /** A new segment is started when the current one would grow past this (default 64 MiB). */
  segmentBytes?: number;
}

/** Records appended together: consecutive sequence numbers from `seq`, settled together. */
interface Pending extends RecordRun {
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

export interface JournalStats {
  nextSeq: number;
  durableSeq: number;
  batches: number;
  records: number;
  bytes: number;
  failed: string | null;
}

export class Journal {
  private fd = -1;
  private segSize = 0;
  /** Bytes of the open segment's header (its records start there). */
  private segHeader = 0;
  private pending: Pending[] = [];
  private flushing = false;
  private failure: JournalError | null = null;
  private idle: (() => void)[] = [];
  /** durableThrough's waiters: each resolved once its sequence is durable (or the journal failed). */
  private durableWaiters: { seq: number; resolve: () => void }[] = [];
  private closed = false;
  /** The last sequence a write of the segment was attempted for (mayHold). */
  private writtenSeq: number;
  readonly stats: JournalStats;

  private constructor(
    readonly dir: string,
    private rec: RecoveryResult,
    private readonly opts: JournalOptions,
  ) {
    this.stats = { nextSeq: rec.nextSeq, durableSeq: rec.nextSeq - 1, batches: 0, records: 0, bytes: 0, failed: null };
    this.writtenSeq = rec.nextSeq - 1;
  }

  /** What recovery found at open (its records until takeRecoveredRecords). */
  get recovered(): RecoveryResult {
    return this.rec;
  }

  /**
   * The records recovery read, handed over once (for the boot's replay) and no longer held here: each
   * holds a view of its segment's whole buffer, and PID 1 kept the journal since the older kept
   * checkpoint on its heap for its lifetime (hundreds of MB at a high mutation rate, without bound
   * while checkpoints could not be written).
   */
  takeRecoveredRecords(): RecoveryResult["records"] {
    const records = this.rec.records;
    this.rec = { ...this.rec, records: [] };
    return records;
  }

  /** Opens (creating if needed) the journal in `dir`, recovering it first. Throws JournalError on mid-journal corruption. */
  static open(dir: string, opts: JournalOptions = {}): Journal {
    makeDirDurable(dir);
    const rec = recoverJournal(dir, opts);
    const j = new Journal(dir, rec, opts);
    const last = rec.segments.at(-1);
    if (last) {
      j.openSegment(last.path, last.size, last.headerSize);
      // Recovery counts every whole record as durable, but an init killed between a batch's write
      // and its fdatasync left that batch in the page cache only: a checkpoint covering it could be
      // renamed into place first, and a power cut then left a checkpoint ahead of the journal (the
      // next boot refused the state dir). The last segment is made durable before anything builds
      // on it (a no-op cost when it already is; earlier segments were synced before it was started).
      if (rec.nextSeq > 1) fdatasyncSync(j.fd);
      // Its name too: a run killed between a segment's rename and the directory's fsync (or between
      // journal/'s mkdir and its parent's fsync) left entries only the page cache holds, and what this
      // run acknowledges in that segment would go with them at a power cut.
      fsyncDir(dir);
      fsyncDir(dirname(dir));
      // A segment that records no lineage (written by an earlier image) while this journal has one:
      // what is appended from now on goes into a segment that does, so a copy of it into another
      // model's state dir is refused. One that holds no record is replaced (a rename over it).
      if (last.lineage === null && j.lineage !== null) j.startSegment(rec.nextSeq);
    } else j.startSegment(rec.nextSeq);
    return j;
  }

  /** The base model's SHA-256 (hex) that new segments record: the one opened for, else the one the segments record. */
  get lineage(): string | null {
    return this.opts.lineage ?? this.recovered.lineage;
  }

  get nextSeq(): number {
    return this.stats.nextSeq;
  }
  get durableSeq(): number {
    return this.stats.durableSeq;
  }
  /** Non-null once a write or fsync failed: the journal accepts nothing more. */
  get failed(): JournalError | null {
    return this.failure;
  }

  /**
   * Whether record `seq` may be in the segment: a write that held it was attempted (its bytes may be
   * on disk though the write or its fdatasync failed). False: the journal stopped before writing it.
   */
  mayHold(seq: number): boolean {
    return seq <= this.writtenSeq;
  }

  /**
   * Appends one record. The returned promise resolves with its sequence number only after an
   * fdatasync that covers it succeeded; it rejects (JournalError) if the journal failed first.
   * `onSeq` receives the sequence synchronously (before durability), e.g. to order applications.
   */
  append(type: number, payload: Uint8Array, onSeq?: (seq: number) => void): Promise<number> {
    return this.appendMany(type, [payload], onSeq);
  }

  /**
   * Appends records of one type with consecutive sequence numbers, in one group commit: one
   * promise for all of them (a drain's worth of mutations settles once, not once per record).
   * Resolves with the first sequence number after the fdatasync that covers the last one.
   */
  appendMany(type: number, payloads: Uint8Array[], onSeq?: (first: number) => void): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new JournalError("journal is closed"));
    if (payloads.length === 0) return Promise.reject(new JournalError("no records to append"));
    for (const p of payloads) {
      if (p.length > MAX_PAYLOAD) return Promise.reject(new JournalError(`record payload of ${p.length} bytes exceeds ${MAX_PAYLOAD}`));
    }
    const seq = this.stats.nextSeq;
    this.stats.nextSeq += payloads.length;
    onSeq?.(seq);
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ seq, type, payloads, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Records that checkpoint file `c.file` (size, CRC32C) covers every record up to `c.coveredSeq`. */
  appendCheckpoint(c: CheckpointRecord): Promise<number> {
    return this.append(RecordType.checkpoint, encodeCheckpointRecord(c));
  }

  /** Resolves when nothing is pending (every appended record durable or failed). */
  settle(): Promise<void> {
    if (!this.flushing && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /**
   * Resolves once every record up to `seq` (appended already) is durable, or the journal failed
   * (check `failed`). Unlike settle, records appended after the call do not hold it off: a
   * checkpoint waits here, so a mutation storm that keeps the journal busy cannot postpone it for
   * ever (it waits for at most the batch in flight and the next).
   */
  durableThrough(seq: number): Promise<void> {
    if (this.stats.durableSeq >= seq || this.failure || seq >= this.stats.nextSeq) return Promise.resolve();
    return new Promise((resolve) => this.durableWaiters.push({ seq, resolve }));
  }

  /** Waits for pending records, then closes the segment. */
  async close(): Promise<void> {
    await this.settle();
    this.closed = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Deletes whole segments whose records all have sequence <= `upToSeq` (never the current one). Returns the count. */
  compact(upToSeq: number): number {
    return removeCoveredSegments(this.dir, upToSeq);
  }

  private openSegment(path: string, size: number, headerSize: number): void {
    try {
      this.fd = openSync(path, "r+");
      if (fstatSync(this.fd).size !== size) throw new Error(`segment size changed under us`);
    } catch (cause) {
      throw new JournalError(`cannot open journal segment ${path}`, { cause });
    }
    this.segSize = size;
    this.segHeader = headerSize;
  }

  private startSegment(firstSeq: number): void {
    const s = this.newSegment(firstSeq);
    writeFileAtomic(s.path, [s.header]);
    this.switchTo(s);
  }

  /** startSegment with its writes and fsyncs off the event loop (a rotation while mutations flow). */
  private async startSegmentAsync(firstSeq: number): Promise<void> {
    const s = this.newSegment(firstSeq);
    await writeFileAtomicAsync(s.path, [s.header]);
    this.switchTo(s);
  }

  private newSegment(firstSeq: number): { path: string; header: Uint8Array } {
    return { path: join(this.dir, segmentFileName(firstSeq)), header: encodeSegmentHeader(firstSeq, this.lineage) };
  }

  /** Appends go to the segment just written (`header` alone) from now on. */
  private switchTo(s: { path: string; header: Uint8Array }): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.openSegment(s.path, s.header.length, s.header.length);
    log.debug("segment started", { path: s.path });
  }

  /**
   * Stops the journal for good from outside (what it holds stays as it is): nothing more is
   * appended, and no checkpoint can claim to cover it (writeCheckpoint refuses a stopped journal).
   */
  halt(reason: string): void {
    if (!this.failure) this.fail(new JournalError(reason));
  }

  /**
   * Stops the journal for good. `durableSize`: the segment's length before the batch that failed,
   * whose bytes are cut off again. Left in the file (in the page cache, after a failed fdatasync
   * that the kernel does not report twice), they were read back as durable by the next journal
   * opened on the directory (a live re-exec, a restart without a power cut), which appended
   * acknowledged records after them; at a power cut those records then stood behind bytes that
   * never reached the disk, and the journal was refused as corrupt.
   */
  private fail(err: JournalError, durableSize?: number): void {
    this.failure = err;
    this.stats.failed = err.message;
    log.error("journal STOPPED: no further mutation will be acknowledged", { reason: describeError(err) });
    if (durableSize === undefined || this.fd < 0) return;
    try {
      ftruncateSync(this.fd, durableSize);
      this.segSize = durableSize;
    } catch (e) {
      log.error("journal: the failed batch could not be cut off; its records may be read back at the next open", { error: describeError(e) });
    }
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0 || this.failure) {
      for (const p of batch) p.reject(this.failure ?? new JournalError("journal stopped"));
      if (this.failure) for (const w of this.durableWaiters.splice(0)) w.resolve();
      this.flushing = false;
      for (const r of this.idle.splice(0)) r();
      return;
    }
    const limit = this.opts.segmentBytes ?? 64 << 20;
    let total = 0;
    for (const p of batch) for (const x of p.payloads) total += RECORD_HEADER_SIZE + x.length;
    if (this.segSize + total > limit && this.segSize > this.segHeader) {
      // The next segment is made off the event loop (its file and directory fsyncs: the batch's own
      // fdatasync already was): made with synchronous fsyncs, every 64 MiB of journal held PID 1's
      // loop, the beat with it, for as long as the disk took (for ever on a stalled disk).
      void this.startSegmentAsync(batch[0]!.seq).then(
        () => this.writeBatch(batch, total),
        (cause: unknown) => {
          this.fail(new JournalError(`journal segment could not be started in ${this.dir}`, { cause }));
          this.finish(batch, this.failure);
        },
      );
      return;
    }
    this.writeBatch(batch, total);
  }

  /** Writes `batch` (`total` bytes of records) at the end of the segment, then fdatasyncs it off the loop. */
  private writeBatch(batch: Pending[], total: number): void {
    let records = 0;
    for (const p of batch) records += p.payloads.length;
    /** The segment's length before this batch (undefined until it is written: nothing to cut off). */
    let before: number | undefined;
    try {
      const buf = encodeBatch(batch, total, this.stats.durableSeq);
      before = this.segSize;
      this.writtenSeq = batch.at(-1)!.seq + batch.at(-1)!.payloads.length - 1;
      writeAll(this.fd, buf, this.segSize);
      this.segSize += total;
    } catch (cause) {
      this.fail(new JournalError(`journal write failed in ${this.dir}`, { cause }), before);
      return this.finish(batch, this.failure);
    }
    fdatasync(this.fd, (err) => {
      if (err) {
        this.fail(new JournalError(`fdatasync of journal in ${this.dir} failed: the last batch's durability is unknown`, { cause: err }), before);
        return this.finish(batch, this.failure);
      }
      const last = batch.at(-1)!;
      this.stats.durableSeq = last.seq + last.payloads.length - 1;
      this.stats.batches++;
      this.stats.records += records;
      this.stats.bytes += total;
      this.finish(batch, null);
    });
  }

  private finish(batch: Pending[], err: Error | null): void {
    for (const p of batch) err ? p.reject(err) : p.resolve(p.seq);
    // After the batch's own settlements: their reactions (applying the mutations) run first.
    this.durableWaiters = this.durableWaiters.filter((w) => (this.failure || w.seq <= this.stats.durableSeq ? (w.resolve(), false) : true));
    if (this.pending.length > 0 && !this.failure) {
      queueMicrotask(() => this.flush());
    } else {
      if (this.failure) for (const p of this.pending.splice(0)) p.reject(this.failure);
      this.flushing = false;
      for (const r of this.idle.splice(0)) r();
    }
  }
}
