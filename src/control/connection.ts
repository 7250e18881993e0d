// One control connection's state: newline framing with a length cap, request queue, pending output.
import { describeError } from "../errors.ts";
import { writeSome } from "../sys/control.ts";
import type { Caller } from "./access.ts";

const NL = 0x0a;
const dec = new TextDecoder("utf-8");

export type FeedResult = { lines: string[]; tooLong: false } | { lines: string[]; tooLong: true; length: number };

/** Splits a byte stream into lines (without "\n", a trailing "\r" removed, empty lines skipped). */
export class LineFramer {
  private parts: Uint8Array[] = [];
  private partLen = 0;
  /** performance.now() when the current unfinished line began (null: none). */
  partialSince: number | null = null;

  constructor(private readonly maxLine: number) {}

  /** Bytes of an unfinished line held. */
  get pending(): number {
    return this.partLen;
  }

  /** Drops the unfinished line (the stream ended without its newline): nothing is held or timed any more. */
  discardPartial(): void {
    this.parts = [];
    this.partLen = 0;
    this.partialSince = null;
  }

  /**
   * Takes a chunk (copied if kept). Lines longer than the cap stop the framing: `tooLong` is
   * returned with the lines completed before it, and the rest of the stream is not looked at.
   */
  feed(chunk: Uint8Array, now: number): FeedResult {
    const lines: string[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl < 0 ? chunk.length : nl;
      const len = this.partLen + (end - start);
      if (len > this.maxLine) return { lines, tooLong: true, length: len };
      if (nl < 0) {
        if (this.partLen === 0) this.partialSince = now;
        this.parts.push(chunk.slice(start));
        this.partLen = len;
        break;
      }
      let bytes = chunk.subarray(start, nl);
      if (this.partLen > 0) {
        const all = new Uint8Array(len);
        let o = 0;
        for (const p of this.parts) {
          all.set(p, o);
          o += p.length;
        }
        all.set(bytes, o);
        bytes = all;
        this.parts = [];
        this.partLen = 0;
        this.partialSince = null;
      }
      let text = dec.decode(bytes);
      if (text.endsWith("\r")) text = text.slice(0, -1);
      if (text.trim() !== "") lines.push(text);
      start = nl + 1;
    }
    return { lines, tooLong: false };
  }
}

export class Connection {
  readonly framer: LineFramer;
  /** Complete request lines waiting for the one in progress. */
  readonly queue: string[] = [];
  /** A request is being handled (requests on one connection are answered in order). */
  busy = false;
  /** The peer shut down its sending side: answer what is queued, then close. */
  eof = false;
  /** Sent once the queued requests are answered (the stream ended inside a line: said after what came before it). */
  lastWord: string | null = null;
  closed = false;
  /**
   * The peer closed its side completely: what it sent before is still carried out (in order), nothing
   * is written back, and the connection closes once the last request is done.
   */
  hungUp = false;
  /** Refused or broken: the last error is sent, our side shut down; closed when the peer hangs up or at `lingerUntil`. */
  lingering = false;
  lingerUntil = 0;
  shutDown = false;
  /** Bytes accepted by nobody yet (the peer is slow to read). */
  out: Uint8Array[] = [];
  outLen = 0;
  watchingOutput = false;
  watchingInput = true;
  errors = 0;
  lastActive: number;
  /** When a `logs` request was last answered here (`logs -f` polls): the shutdown lets it poll once more. */
  lastLogsAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly fd: number,
    /** Connect-time credentials and the role they give (refused peers are only ever sent their refusal). */
    readonly cred: Caller,
    maxLine: number,
    now: number,
  ) {
    this.framer = new LineFramer(maxLine);
    this.lastActive = now;
  }

  /** Queues bytes to send (see writePending). */
  push(bytes: Uint8Array): void {
    this.out.push(bytes);
    this.outLen += bytes.length;
  }

  /** Forgets the bytes nobody will read (the peer hung up). */
  discardOutput(): void {
    this.out = [];
    this.outLen = 0;
  }

  /** Writes as much of the queue as the socket takes now (never waits); the error text when the peer is gone. */
  writePending(): string | null {
    while (this.out.length > 0) {
      const buf = this.out[0]!;
      let n: number;
      try {
        n = writeSome(this.fd, buf);
      } catch (e) {
        return describeError(e);
      }
      if (n === 0) break;
      this.outLen -= n;
      if (n === buf.length) this.out.shift();
      else this.out[0] = buf.subarray(n);
    }
    return null;
  }
}
