// A service's recent output: complete lines with sequence numbers, at most `maxBytes` (the oldest go first).
export interface LogLine {
  seq: number;
  /** Wall-clock ms when the line was read. */
  t: number;
  line: string;
}

export class LogRing {
  private readonly lines: LogLine[] = [];
  private bytes = 0;
  private nextSeq = 1;
  private partial = "";

  constructor(private readonly maxBytes = 1 << 20) {}

  /** Adds output; returns the complete lines it made (a line longer than 64 KiB is cut there). */
  push(text: string, now = Date.now()): LogLine[] {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    if (this.partial.length > 65536) {
      parts.push(this.partial);
      this.partial = "";
    }
    return parts.map((l) => this.add(l, now));
  }

  /** The unterminated last line, at end of file. */
  flush(now = Date.now()): LogLine[] {
    if (this.partial === "") return [];
    const l = this.add(this.partial, now);
    this.partial = "";
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
