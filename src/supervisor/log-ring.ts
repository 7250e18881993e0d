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

export class LogRing {
  private readonly lines: LogLine[] = [];
  private bytes = 0;
  private nextSeq = 1;
  /** The unterminated line of each stream (index 1: stdout, 2: stderr): they were one, so a stderr line was glued to a stdout prompt. */
  private readonly partial = ["", "", ""];

  constructor(private readonly maxBytes = 1 << 20) {}

  /** Adds output of `stream`; returns the complete lines it made (a line longer than 64 KiB is cut every 64 KiB). */
  push(text: string, stream: 1 | 2 = 1, now = Date.now()): LogLine[] {
    const parts = (this.partial[stream] + text).split("\n");
    let rest = parts.pop() ?? "";
    const out: LogLine[] = [];
    for (const p of parts) for (const piece of cut(p)) out.push(this.add(piece, now));
    while (rest.length > MAX_LINE) {
      out.push(this.add(rest.slice(0, MAX_LINE), now));
      rest = rest.slice(MAX_LINE);
    }
    this.partial[stream] = rest;
    return out;
  }

  /** The unterminated last line of `stream`, at end of file. */
  flush(stream: 1 | 2 = 1, now = Date.now()): LogLine[] {
    if (this.partial[stream] === "") return [];
    const l = this.add(this.partial[stream]!, now);
    this.partial[stream] = "";
    return [l];
  }

  private add(line: string, t: number): LogLine {
    const l = { seq: this.nextSeq++, t, line };
    this.lines.push(l);
    this.bytes += line.length + 16;
    while (this.bytes > this.maxBytes && this.lines.length > 1) this.bytes -= this.lines.shift()!.line.length + 16;
    return l;
  }

  /** Lines after `after` (sequence number), the last `limit` of them. */
  read(after = 0, limit = 1000): { lines: LogLine[]; next: number } {
    const from = this.lines.filter((l) => l.seq > after);
    return { lines: from.slice(Math.max(0, from.length - limit)), next: this.nextSeq - 1 };
  }
}
