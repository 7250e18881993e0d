// The control socket server: nonblocking Unix socket in C, woken by SIGURG (O_ASYNC) plus a slow safety poll.
import { rmSync } from "node:fs";
import { describeError, SysError } from "../errors.ts";
import { logger } from "../log.ts";
import { acceptPeer } from "../sys/control.ts";
import { epollCreate, PollBits, readyNow } from "../sys/epoll.ts";
import { closeFd, readAvailable } from "../sys/fd.ts";
import { setInheritable } from "../sys/process.ts";
import { admitConnection } from "./admission.ts";
import type { Connection } from "./connection.ts";
import { handleLine } from "./handler.ts";
import { HandoverHold } from "./handover-hold.ts";
import { resolveOptions, type ControlServerOptions, type ResolvedOptions } from "./options.ts";
import { signalName } from "./socket-file.ts";
import { openListener, type ControlPart } from "./handed-listener.ts";
import { Peers } from "./peers.ts";
import { RefusalLog } from "./refusal-log.ts";
import { CLOSING_FOR_SHUTDOWN, errorResponse, salvageId } from "./protocol.ts";
import type { ControlTarget } from "./target.ts";

const log = logger("control");

export type { ControlServerOptions };

export interface ControlServerStats {
  connections: number;
  accepted: number;
  refused: number;
  requests: number;
  errors: number;
  wakeups: number;
}

/** Work done per event-loop turn before yielding (keeps timers, like the heartbeat, on time). */
const SLICE_MS = 2;
/** A connection that read logs this recently is a follower the shutdown waits for (see closeAfterFollowers). */
const FOLLOWER_RECENT_MS = 2_000;
/** The longest the shutdown waits for followers to poll once more. */
const FOLLOWER_WAIT_MS = 1_000;
const READ_BUDGET = 256 * 1024;

export class ControlServer {
  readonly path: string;
  private readonly o: ResolvedOptions;
  private readonly target: ControlTarget;
  private readonly listenFd: number;
  private readonly ep: number;
  private readonly peers: Peers;
  private readonly scratch: Uint8Array;
  private readonly readyFds = new Int32Array(128);
  private readonly readyEvents = new Uint32Array(128);
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly onSignal = () => {
    this.counters.wakeups++;
    this.pump();
  };
  private pumpScheduled = false;
  private sliceStart = 0;
  private closed = false;
  private readonly counters = { accepted: 0, refused: 0, requests: 0, errors: 0, wakeups: 0 };
  private readonly refusals = new RefusalLog();
  private readonly hold = new HandoverHold();

  constructor(opts: ControlServerOptions) {
    this.o = resolveOptions(opts);
    const allowGid = this.o.allowGid;
    this.target = opts.target;
    this.path = this.o.path;
    this.scratch = new Uint8Array(Math.min(64 * 1024, this.o.maxLineBytes + 1));
    const sig = this.o.wakeSignal ?? 0;
    if (sig > 0) process.on(signalName(sig), this.onSignal);
    this.ep = epollCreate();
    this.peers = new Peers(this.ep, this.o, this.counters);
    let adopted: boolean;
    try {
      ({ fd: this.listenFd, adopted } = openListener(this.o, sig, opts.handed ?? null));
    } catch (e) {
      closeFd(this.ep);
      if (sig > 0) process.off(signalName(sig), this.onSignal);
      throw e;
    }
    this.timer = setInterval(() => this.housekeeping(), this.o.housekeepingMs);
    this.timer.unref?.();
    log.info("control socket listening", { path: this.path, mode: this.o.socketMode.toString(8), allow_gid: allowGid ?? "-", wake: sig > 0 ? `signal ${sig}` : `poll ${this.o.housekeepingMs} ms`, ...(adopted ? { from: "previous image" } : {}) });
    // Connections that queued during the exec sent their wake signal to no handler: accepted now.
    if (adopted) this.schedulePump();
  }

  stats(): ControlServerStats {
    return { connections: this.peers.conns.size, ...this.counters };
  }

  /** Accepts, reads and answers whatever is ready now; never blocks, bounded work per turn. */
  pump(): void {
    if (this.closed) return;
    this.sliceStart = performance.now();
    try {
      let more = false;
      const n = readyNow(this.ep, this.readyFds, this.readyEvents);
      for (let i = 0; i < n; i++) {
        const c = this.peers.conns.get(this.readyFds[i]!);
        if (!c || c.closed) continue;
        const ev = this.readyEvents[i]!;
        if (ev & PollBits.out) this.peers.flush(c);
        if (ev & (PollBits.err | PollBits.hup) && !(ev & PollBits.in)) this.peers.hangUp(c);
        else if (ev & (PollBits.in | PollBits.rdhup) && !c.eof) more = this.readFrom(c) || more;
        if (performance.now() - this.sliceStart > SLICE_MS) {
          more = true; // the rest are still ready (level-triggered): next turn
          break;
        }
      }
      // After the ready connections: peers that hung up are gone before new ones are counted
      // against the limit (32 connections closed, then one more was refused busy).
      this.acceptAll();
      if (more) this.schedulePump();
    } catch (e) {
      log.error("control socket pump failed", { error: describeError(e) });
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Accepts what waits (64 at most a turn). A connection accepted joins the epoll set after this
   * turn's look at it: what it already has to say (a hang-up) is looked at in another turn, at once.
   */
  private acceptAll(): void {
    let i = 0;
    for (; i < 64; i++) {
      let a;
      try {
        a = acceptPeer(this.listenFd, this.ep, this.o.wakeSignal ?? 0);
      } catch (e) {
        log.warn("accept failed", { error: describeError(e) });
        break;
      }
      if (!a) break;
      const c = admitConnection(a, performance.now(), { o: this.o, peers: this.peers, refusals: this.refusals, counters: this.counters });
      // The first request often arrived with the connection: read it now rather than on the next wake.
      if (c) this.readFrom(c);
    }
    if (i > 0) this.schedulePump();
  }

  /** Reads up to the budget; true when data may be left (read again next turn). */
  private readFrom(c: Connection): boolean {
    let budget = READ_BUDGET;
    while (budget > 0 && !c.closed) {
      let n: number | null;
      try {
        n = readAvailable(c.fd, this.scratch);
      } catch (e) {
        // A peer that closed with our reply unread makes the read fail (ECONNRESET), not end: a
        // hang-up, whose requests read before it are still carried out (dropped, they were lost).
        if (e instanceof SysError && (e.errno === "ECONNRESET" || e.errno === "EPIPE")) this.peers.hangUp(c);
        else this.peers.drop(c, describeError(e));
        return false;
      }
      if (n === null) return false;
      const now = performance.now();
      c.lastActive = now;
      if (n === 0) {
        c.eof = true;
        // Said after the answers to the requests before it (it came first, out of order), and no
        // longer timed: the stalled-request timeout then closed the connection 5 s later, dropping
        // the answer to a request still in progress and the requests queued behind it.
        if (c.framer.pending > 0) c.lastWord = `incomplete request: ${c.framer.pending} bytes without a newline before the end of the stream`;
        c.framer.discardPartial();
        this.sayLastWord(c);
        this.peers.watch(c);
        this.peers.finishIfDone(c);
        return false;
      }
      budget -= n;
      const r = c.framer.feed(this.scratch.subarray(0, n), now);
      for (const line of r.lines) this.enqueue(c, line);
      if (r.tooLong) {
        this.peers.fail(c, null, "line_too_long", `request line longer than ${this.o.maxLineBytes} bytes (at least ${r.length}); closing`);
        return false;
      }
    }
    return !c.closed;
  }

  /** The end-of-stream error, once nothing before it waits for its answer. */
  private sayLastWord(c: Connection): void {
    if (c.lastWord === null || c.busy || c.queue.length > 0) return;
    const message = c.lastWord;
    c.lastWord = null;
    this.peers.reply(c, errorResponse(null, "invalid_request", message));
  }

  private enqueue(c: Connection, line: string): void {
    // Failed (closing, its queue dropped): the lines after the one that failed it, in the same chunk,
    // were carried out and never answered (a restart after the 33rd bad request).
    if (c.closed || c.lingering) return;
    if (c.queue.length >= this.o.maxQueued) {
      // With the request's id when it has one: a null id was matched by clients to the oldest request
      // still waiting (the first of the queue, answered later), not to this one.
      let id: string | number | null = null;
      let json = true;
      try {
        id = salvageId(JSON.parse(line));
      } catch {
        json = false; // not JSON: no id to give back, and a bad request whatever the queue (a garbage flood is closed)
      }
      this.peers.reply(c, errorResponse(id, "busy", `more than ${this.o.maxQueued} requests waiting on this connection`), !json);
      return;
    }
    c.queue.push(line);
    if (!c.busy) void this.serve(c);
  }

  /** Answers the queued requests of one connection in order. */
  private async serve(c: Connection): Promise<void> {
    c.busy = true;
    try {
      while (c.queue.length > 0 && !c.closed) {
        if (performance.now() - this.sliceStart > SLICE_MS) {
          await new Promise((r) => setImmediate(r));
          this.sliceStart = performance.now();
          if (c.closed) break;
        }
        if (this.hold.holds(c, c.queue[0]!)) break;
        const line = c.queue.shift()!;
        this.counters.requests++;
        const h = await handleLine(line, this.target, c.cred);
        if (!h.response.ok) this.counters.errors++;
        if (!c.closed) this.peers.reply(c, h.response);
        if (h.op === "logs" && h.response.ok) c.lastLogsAt = performance.now();
        if (h.afterReply) {
          try {
            h.afterReply();
          } catch (e) {
            log.error("control action failed after reply", { error: describeError(e) });
          }
        }
      }
    } finally {
      c.busy = false;
      c.lastActive = performance.now();
    }
    this.sayLastWord(c);
    this.peers.finishIfDone(c);
  }

  /**
   * A live re-exec begins its handover: from now on requests that would change a handed-over part
   * wait unread (HandoverHold) until `releaseChanges`, or the exec drops their connections.
   */
  holdChanges(): void {
    this.hold.begin();
  }

  /** The handover ended without an exec: the listener is close-on-exec again, the held requests are carried out now, in order. */
  releaseChanges(): void {
    if (!this.closed) setInheritable(this.listenFd, false);
    for (const c of this.hold.end()) if (!c.closed && !c.busy) void this.serve(c);
  }

  /** Live re-exec, at the exec itself: the listener stays open across the execve, for the next image to adopt (handoff 6). */
  handOver(): ControlPart {
    setInheritable(this.listenFd, true);
    return { listener: this.listenFd, path: this.path };
  }

  private housekeeping(): void {
    if (this.closed) return;
    this.peers.sweep(performance.now());
    this.refusals.flush(performance.now());
    this.pump();
  }

  /**
   * The shutdown's close. The services have stopped by now (their phase stops first), and what they
   * wrote as they stopped is in their rings: a connection that read logs within the last
   * FOLLOWER_RECENT_MS (`logs -f` polls every 200 ms) may ask once more, for at most FOLLOWER_WAIT_MS,
   * before the close. A follower missed those last lines when the socket closed between two polls.
   * `maxWaitMs` bounds it further (the shutdown's share): a client that read logs once and kept its
   * connection took the whole second, the rest of a tight shutdown deadline with it, and the phases
   * after this one (journal, runtime, reaper) were skipped, the socket file left behind.
   */
  async closeAfterFollowers(maxWaitMs: number = FOLLOWER_WAIT_MS): Promise<void> {
    const since = performance.now();
    const bound = Math.min(FOLLOWER_WAIT_MS, maxWaitMs);
    const waiting = () => [...this.peers.conns.values()].some((c) => !c.closed && !c.hungUp && c.lastLogsAt < since && since - c.lastLogsAt < FOLLOWER_RECENT_MS);
    while (!this.closed && waiting() && performance.now() - since < bound) await Bun.sleep(10);
    this.close();
  }

  /** Stops listening, closes every connection (telling each the instance is shutting down) and removes the socket file. */
  close(): void {
    if (this.closed) return;
    this.peers.dropAll("server closing", errorResponse(null, "busy", CLOSING_FOR_SHUTDOWN));
    this.refusals.flush(performance.now(), true);
    this.closed = true;
    clearInterval(this.timer);
    const sig = this.o.wakeSignal ?? 0;
    if (sig > 0) process.off(signalName(sig), this.onSignal);
    for (const fd of [this.listenFd, this.ep]) {
      try {
        closeFd(fd);
      } catch {
        /* already closed */
      }
    }
    rmSync(this.path, { force: true });
    log.info("control socket closed", { path: this.path });
  }
}
