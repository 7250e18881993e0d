// A service's recent output: complete lines with sequence numbers, at most `maxBytes` (the oldest go first).
export interface LogLine {
  seq: number;
  /** Wall-clock ms when the line was read. */
  t: number;
  line: string;
}

const MAX_LINE = 65536;

/** A complete line in pieces of at most MAX_LINE characters (an empty line is one empty piece). */
function cut(line: string): string[] {
  if (line.length <= MAX_LINE) return [line];
  const pieces: string[] = [];
  for (let i = 0; i < line.length; i += MAX_LINE) pieces.push(line.slice(i, i + MAX_LINE));
  return pieces;
}

/** Where an unterminated line waits for its end: one per pipe (a new run's pipes start with none). */
export interface PartialLine {
  text: string;
}

export class LogRing {
  private readonly lines: LogLine[] = [];
  private bytes = 0;
  private nextSeq: number;
  /**
   * The unterminated line of output pushed without a PartialLine of its own. Each pipe has its own:
   * one per stream was shared by every run, so a half line of the previous run's pipe (a process of
   * that run still holding it) was glued to the first line of the next run's.
   */
  private readonly own: PartialLine = { text: "" };

  /** `firstSeq`: where the numbering goes on (after a live re-exec, from the previous image's ring). */
  constructor(
    private readonly maxBytes = 1 << 20,
    firstSeq = 1,
  ) {
    this.nextSeq = firstSeq;
  }

  /** The number the next line gets. */
  get next(): number {
    return this.nextSeq;
  }

  /** Adds output of one pipe (`partial`: its unterminated line); returns the complete lines it made (a line longer than 64 KiB is cut every 64 KiB). */
  push(text: string, partial: PartialLine = this.own, now = Date.now()): LogLine[] {
    const parts = (partial.text + text).split("\n");
    let rest = parts.pop() ?? "";
    const out: LogLine[] = [];
    for (const p of parts) for (const piece of cut(p)) out.push(this.add(piece, now));
    while (rest.length > MAX_LINE) {
      out.push(this.add(rest.slice(0, MAX_LINE), now));
      rest = rest.slice(MAX_LINE);
    }
    partial.text = rest;
    return out;
  }

  /** The last lines (at most `maxLines`, `maxBytes` of text), oldest first: what a live re-exec hands over. */
  tail(maxLines: number, maxBytes: number): LogLine[] {
    let bytes = 0;
    let from = this.lines.length;
    while (from > 0 && this.lines.length - from < maxLines && bytes + this.lines[from - 1]!.line.length <= maxBytes) bytes += this.lines[--from]!.line.length;
    return this.lines.slice(from);
  }

  /** Lines the previous image's ring ended with (consecutive, numbered from where this ring starts): a follower reads on from them. */
  restore(lines: readonly LogLine[]): void {
    for (const l of lines) if (l.seq === this.nextSeq) this.add(l.line, l.t);
  }

  /** The unterminated last line of a pipe, at its end of file. */
  flush(partial: PartialLine = this.own, now = Date.now()): LogLine[] {
    if (partial.text === "") return [];
    const l = this.add(partial.text, now);
    partial.text = "";
    return [l];
  }

  private add(line: string, t: number): LogLine {
    const l = { seq: this.nextSeq++, t, line };
    this.lines.push(l);
    this.bytes += line.length + 16;
    while (this.bytes > this.maxBytes && this.lines.length > 1) this.bytes -= this.lines.shift()!.line.length + 16;
    return l;
  }

  /**
   * Lines after `after` (sequence number), the last `limit` of them, at most `maxBytes` as JSON: when
   * they do not fit, the oldest of them that do (always one), `next` is the last one given and `more`
   * says the rest waits (read again after `next`). Else `next` is the last line written. A page was
   * not bounded: the control socket drops a peer with over 1 MiB of reply waiting, and the ring's
   * lines as JSON are more (`logs -n 100000` ended in ECONNRESET, `logs -f` stalled after a burst).
   */
  read(after = 0, limit = 1000, maxBytes = Infinity): { lines: LogLine[]; next: number; more?: true } {
    // Sequence numbers are consecutive: the first line after `after` is found by index.
    const first = this.lines[0]?.seq ?? this.nextSeq;
    const from = Math.max(0, after + 1 - first, this.lines.length - limit);
    const last = this.nextSeq - 1;
    let bytes = 0;
    for (let i = from; i < this.lines.length; i++) {
      bytes += jsonBytes(this.lines[i]!);
      if (bytes > maxBytes && i > from) return { lines: this.lines.slice(from, i), next: this.lines[i - 1]!.seq, more: true };
    }
    return { lines: this.lines.slice(from), next: last };
  }
}

const utf8 = new TextEncoder();

/** The size of a line as a reply carries it (`{"seq":N,"t":N,"line":"..."},`). */
function jsonBytes(l: LogLine): number {
  const s = JSON.stringify(l.line);
  // Mostly ASCII: its length is its size; else count the UTF-8 bytes.
  return (/^[\x00-\x7f]*$/.test(s) ? s.length : utf8.encode(s).length) + 48;
}
