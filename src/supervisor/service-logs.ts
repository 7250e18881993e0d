// Services' stdout/stderr: pipes PID 1 reads without waiting (woken by data while quiet, polled while it flows), a ring per service, name-prefixed console lines, optional kmsg and rotated file.
import { closeSync, openSync, writeSync } from "node:fs";
import type { ServiceConfig } from "../config/schema.ts";
import { consoleWrite } from "../util/console-out.ts";
import { ServiceLogFiles } from "./service-log-files.ts";
import { epollAdd, epollCreate, epollForget, readyNow } from "../sys/epoll.ts";
import { closeFdQuietly, readAvailable } from "../sys/fd.ts";
import { logPipe } from "../sys/log-pipe.ts";
import { setInheritable } from "../sys/process.ts";
import { kmsgRecord } from "./kmsg-record.ts";
import { logger } from "../log.ts";
import { LOG_FDS_MAX } from "./service-snapshot.ts";
import { LogRing, type LogLine, type PartialLine } from "./log-ring.ts";
import { unfinishedUtf8 } from "./utf8-tail.ts";
import { WakeOrPoll } from "./wake-or-poll.ts";

interface Source {
  name: string;
  fd: number;
  /** 1: the service's stdout (console: our stdout), 2: its stderr (our stderr). */
  stream: 1 | 2;
  decoder: TextDecoder;
  /** This pipe's unterminated line (not the service's: a new run's pipes start with none). */
  partial: PartialLine;
  /** The first bytes of a character not yet complete, which `decoder` holds back (handed over with the pipe). */
  held: number[];
}

const log = logger("supervisor");

/** A read end handed over at a live re-exec. */
export interface LogFdHandover {
  fd: number;
  stream: 1 | 2;
  /** The pipe's unterminated line read before the re-exec (at most a line's 64 KiB): the next image's first line of it goes on from there. */
  partial?: string;
  /** The first bytes of a character the pipe had not finished (1 to 3): decoded with the rest of it. */
  partialBytes?: number[];
}

/** A ring's last lines handed over at a live re-exec: at most this many, of this much text. */
export const LOG_TAIL_LINES = 256;
export const LOG_TAIL_BYTES = 64 * 1024;
const CHUNK = 64 * 1024;
/** Most bytes read from one pipe per tick: a service writing flat out cannot hold PID 1 for long. */
const MAX_PER_TICK = 4 * CHUNK;
/** Most bytes of lines in one `logs` reply: half of what the control socket lets wait for a peer (1 MiB). */
const PAGE_BYTES = 512 * 1024;

export class ServiceLogs {
  /** The open read ends by fd, in the order they were opened. */
  private readonly sources = new Map<number, Source>();
  /** Which read ends have data or a closed writer: one syscall per drain, not a read per pipe (null: no epoll, read them all). */
  private ep: number | null;
  private readonly readyFds = new Int32Array(256);
  private readonly readyEvents = new Uint32Array(256);
  private readonly rings = new Map<string, LogRing>();
  private readonly buf = new Uint8Array(CHUNK);
  private kmsgFd: number | null = null;
  private readonly pacer: WakeOrPoll;
  /** The persistent log files (state_dir/logs), null: none. */
  private readonly files: ServiceLogFiles | null;

  constructor(
    private readonly services: Map<string, ServiceConfig>,
    /** Directory of the persistent log files (state_dir/logs), null: none. */
    fileDir: string | null,
    /** /dev/kmsg may be written (PID 1). */
    kmsg: boolean,
  ) {
    this.files = fileDir === null ? null : new ServiceLogFiles(fileDir);
    if (kmsg && [...services.values()].some((s) => s.log_kmsg)) {
      try {
        this.kmsgFd = openSync("/dev/kmsg", "w");
      } catch {
        this.kmsgFd = null;
      }
    }
    this.ep = newEpoll();
    this.pacer = new WakeOrPoll(() => this.drain(), { what: "service output" });
  }

  private ring(name: string): LogRing {
    let r = this.rings.get(name);
    if (!r) this.rings.set(name, (r = new LogRing()));
    return r;
  }

  /** Pipes for a new run: [stdout write end, stderr write end] for spawn (close them after). */
  open(name: string): [number, number] {
    const out = logPipe();
    let err: [number, number];
    try {
      err = logPipe();
    } catch (e) {
      for (const fd of out) closeFdQuietly(fd);
      throw e;
    }
    this.track({ name, fd: out[0], stream: 1, decoder: new TextDecoder(), partial: { text: "" }, held: [] });
    this.track({ name, fd: err[0], stream: 2, decoder: new TextDecoder(), partial: { text: "" }, held: [] });
    return [out[1], err[1]];
  }

  private track(s: Source): void {
    try {
      if (this.ep !== null) epollAdd(this.ep, s.fd);
    } catch {
      this.dropEpoll(); // it cannot say for every pipe: read them all from now on
    }
    this.pacer.add(s.fd);
    this.sources.set(s.fd, s);
  }

  private untrack(s: Source): void {
    try {
      if (this.ep !== null) epollForget(this.ep, s.fd);
    } catch {
      this.dropEpoll(); // an entry left behind could name a reused fd number
    }
    this.pacer.remove(s.fd);
    this.sources.delete(s.fd);
    closeFdQuietly(s.fd);
  }

  private dropEpoll(): void {
    if (this.ep !== null) closeFdQuietly(this.ep);
    this.ep = null;
  }

  /** The pipes that have data or a closed writer (every pipe when epoll cannot say). */
  private ready(): Source[] {
    let n = -1;
    try {
      if (this.ep !== null) n = readyNow(this.ep, this.readyFds, this.readyEvents);
    } catch {
      this.dropEpoll();
    }
    // A full answer may leave some out: this turn reads every pipe.
    if (n < 0 || n === this.readyFds.length) return [...this.sources.values()];
    const out: Source[] = [];
    for (const fd of this.readyFds.subarray(0, n)) {
      const s = this.sources.get(fd);
      if (s) out.push(s);
    }
    return out;
  }

  /** Reads the pipes with data (bounded per pipe), emits complete lines; returns the bytes read (ends of file count 1). */
  drain(): number {
    let total = 0;
    for (const s of this.ready()) {
      let got = 0;
      // Bounded per pipe and turn; data found keeps the pacer polling, which reads the rest.
      while (got < MAX_PER_TICK) {
        let n: number | null;
        try {
          n = readAvailable(s.fd, this.buf);
        } catch {
          n = 0;
        }
        if (n === null) break;
        if (n === 0) {
          this.emit(s, this.ring(s.name).push(s.decoder.decode(), s.partial).concat(this.ring(s.name).flush(s.partial)));
          this.untrack(s);
          total++;
          break;
        }
        got += n;
        total += n;
        s.held = unfinishedUtf8(s.held, this.buf.subarray(0, n));
        this.emit(s, this.ring(s.name).push(s.decoder.decode(this.buf.subarray(0, n), { stream: true }), s.partial));
      }
    }
    return total;
  }

  private emit(s: Source, lines: LogLine[]): void {
    if (lines.length === 0) return;
    const c = this.services.get(s.name);
    if (!c || c.log_console) {
      // As src/log.ts writes its lines: whole, or the rest kept in order by Bun's stream (never torn).
      try {
        consoleWrite(s.stream === 2 ? 2 : 1, lines.map((l) => `${s.name}: ${l.line}\n`).join(""));
      } catch {
        /* console gone */
      }
    }
    if (this.kmsgFd !== null && c?.log_kmsg) {
      for (const l of lines) {
        // /dev/kmsg refuses a record over ~1 KiB of bytes (EINVAL): cut by bytes, not characters (900
        // "é" or U+FFFD were 1.8-2.7 KB), and a refused line costs only itself (the rest of the batch went too).
        try {
          writeSync(this.kmsgFd, kmsgRecord(s.stream === 2 ? 4 : 6, s.name, l.line));
        } catch {
          /* this line only */
        }
      }
    }
    if (this.files && c?.log_file) this.files.append(s.name, c.log_file, lines);
  }

  /** Recent lines of a service after sequence `after`, at most `limit`, in a page that fits a control reply (LogRing.read). */
  read(name: string, after?: number, limit?: number): { lines: LogLine[]; next: number; more?: true } {
    return this.ring(name).read(after, limit, PAGE_BYTES);
  }

  /**
   * At a live re-exec: the read ends stay open across execve; the next image adopts them. At most
   * LOG_FDS_MAX, the newest (the current run's among them): with cgroups off a crash-looping
   * service's escaped processes keep one pair per restart open, and one over the handoff's bound
   * made the next image drop every service's state and start them all beside the running ones.
   * The older ones close at the exec (their writers get EPIPE).
   */
  handover(name: string, drained = false): LogFdHandover[] {
    if (!drained) this.drain();
    const all = [...this.sources.values()].filter((s) => s.name === name);
    if (all.length > LOG_FDS_MAX) log.warn("service holds more output pipes than a re-exec hands over; the oldest close at the exec", { service: name, pipes: all.length, kept: LOG_FDS_MAX });
    return all.slice(-LOG_FDS_MAX).map((s) => {
      setInheritable(s.fd, true);
      // Its half line went with the old image: "hello " then, after the re-exec, "world\n" was logged as "world".
      // A character cut by the re-exec was decoded as U+FFFD by the next image: its first bytes go along.
      return { fd: s.fd, stream: s.stream, ...(s.partial.text !== "" ? { partial: s.partial.text } : {}), ...(s.held.length > 0 ? { partialBytes: s.held } : {}) };
    });
  }

  /** The exec after handover() failed: the read ends are close-on-exec again (later children inherited every service's output pipes). */
  endHandover(): void {
    for (const s of this.sources.values()) setInheritable(s.fd, false);
  }

  /** At a live re-exec (after handover): the number of its ring's next line, where the next image's numbering goes on. */
  nextSeq(name: string): number {
    return this.ring(name).next;
  }

  /** At a live re-exec (after handover): the last lines of its ring, for the next image's (`logs -f` reads on through the exec). */
  tail(name: string): LogLine[] {
    return this.ring(name).tail(LOG_TAIL_LINES, LOG_TAIL_BYTES);
  }

  adopt(name: string, fds: LogFdHandover[], nextSeq = 1, tail: readonly LogLine[] = []): void {
    // A follower's cursor (logs -f, ControlClient.logs(after=)) stays valid: the numbering started
    // again at 1, and as many of the new image's first lines as the old one had read were skipped.
    // The old ring's last lines come along: those read after a follower's last poll (the handover's
    // own drain too) were in the old ring only, and `logs -f` said they were dropped.
    const first = tail.length > 0 && tail.at(-1)!.seq + 1 === nextSeq ? tail[0]!.seq : nextSeq;
    if (!this.rings.has(name)) {
      const ring = new LogRing(undefined, first);
      if (first !== nextSeq) ring.restore(tail);
      this.rings.set(name, ring);
    }
    for (const h of fds) {
      try {
        setInheritable(h.fd, false);
        const decoder = new TextDecoder();
        const held = h.partialBytes ?? [];
        decoder.decode(Uint8Array.from(held), { stream: true }); // held back until the rest of the character comes
        this.track({ name, fd: h.fd, stream: h.stream, decoder, partial: { text: h.partial ?? "" }, held });
      } catch {
        /* not open any more */
      }
    }
  }

  close(): void {
    this.drain();
    this.pacer.close();
    for (const s of [...this.sources.values()]) this.untrack(s);
    this.dropEpoll();
    if (this.kmsgFd !== null) closeSync(this.kmsgFd);
  }
}

function newEpoll(): number | null {
  try {
    return epollCreate();
  } catch {
    return null; // out of descriptors: every drain reads every pipe
  }
}
