// The control server's open connections on its epoll set: replies, output flow control, refusal with linger, close and timeouts.
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { shutdownWrite } from "../sys/control.ts";
import { epollForget, epollWatch } from "../sys/epoll.ts";
import { closeFd } from "../sys/fd.ts";
import type { Connection } from "./connection.ts";
import type { ResolvedOptions } from "./options.ts";
import { encodeResponse, errorResponse, type ControlResponse, type ErrorCode } from "./protocol.ts";

const log = logger("control");
const enc = new TextEncoder();

/** How long a refused connection is kept (our side shut down) so the peer can read why before the close. */
const LINGER_MS = 200;
/** Error responses one connection may cause before it is closed (garbage floods). */
const MAX_BAD_REQUESTS = 32;

export class Peers {
  /** Open connections by fd. */
  readonly conns = new Map<number, Connection>();

  constructor(
    private readonly ep: number,
    private readonly o: ResolvedOptions,
    /** The server's error counter (error responses and failed connections). */
    private readonly counters: { errors: number },
  ) {}

  /**
   * Sends one response; a connection that earns too many bad ones is failed. `bad`: whether it
   * counts as one (default: any error but `busy`, which is flow control: 60 pipelined pings made 44
   * busy answers, the connection was failed and the 16 read before them never carried out).
   */
  reply(c: Connection, r: ControlResponse, bad = !r.ok && r.error.code !== "busy"): void {
    if (c.closed || c.lingering || c.hungUp) return;
    c.push(enc.encode(encodeResponse(r)));
    this.flush(c);
    if (bad && ++c.errors > MAX_BAD_REQUESTS) this.fail(c, null, "invalid_request", `more than ${MAX_BAD_REQUESTS} bad requests on this connection; closing`);
  }

  /** Writes what the socket takes now; drops a peer that is gone or leaves too much unread. */
  flush(c: Connection): void {
    if (c.closed || c.hungUp) return;
    // A write that fails finds the peer gone before its hang-up was seen (a connection accepted with
    // its requests and its close already in): as a hang-up, what it sent is still carried out.
    // Dropped, the requests queued behind the one answered were lost.
    if (c.writePending() !== null) return this.hangUp(c);
    if (c.outLen > this.o.maxOutputBytes) return this.drop(c, `peer does not read its replies (${c.outLen} bytes waiting)`);
    this.watch(c);
    this.finishIfDone(c);
  }

  /** Keeps epoll asking for what the connection needs: input until EOF, output while bytes wait. */
  watch(c: Connection): void {
    if (c.closed || c.hungUp) return;
    const wantOut = c.outLen > 0;
    const wantIn = !c.eof;
    if (wantOut === c.watchingOutput && wantIn === c.watchingInput) return;
    c.watchingOutput = wantOut;
    c.watchingInput = wantIn;
    try {
      epollWatch(this.ep, c.fd, wantIn, wantOut);
    } catch (e) {
      this.drop(c, describeError(e));
    }
  }

  /**
   * The peer hung up (epoll: HUP or ERR, nothing more to read). Requests it sent before that are still
   * carried out: the connection was closed at once, and a request read but not yet begun (the server
   * yields between requests, and after a stop of the init the peer is often gone by then) was
   * dropped, though the client had been told it "may still carry it out". Closed when they are done.
   */
  hangUp(c: Connection): void {
    if (c.closed) return;
    if (c.lingering || (!c.busy && c.queue.length === 0)) return this.drop(c, "peer hung up");
    c.hungUp = true;
    c.eof = true;
    c.discardOutput();
    try {
      epollForget(this.ep, c.fd); // a hang-up is reported until the close: the pump would spin
    } catch {
      /* already gone from the set */
    }
    log.debug("control peer hung up; carrying out what it sent before", { uid: c.cred.uid, pid: c.cred.pid, queued: c.queue.length + (c.busy ? 1 : 0) });
  }

  /** Closes a connection with nothing left to do (a lingering one: shuts our side once its output is out). */
  finishIfDone(c: Connection): void {
    if (c.lingering) {
      if (c.outLen === 0) this.shutdownOnce(c);
      return;
    }
    if (c.eof && !c.busy && c.queue.length === 0 && c.outLen === 0) this.drop(c, null);
  }

  /**
   * Sends an error, stops reading and shuts our side down, then closes when the peer hangs up or
   * after LINGER_MS: closing at once could reset the connection before the peer reads the reason.
   */
  fail(c: Connection, id: string | number | null, code: ErrorCode, message: string): void {
    if (c.closed || c.lingering) return;
    this.counters.errors++;
    if (code !== "permission_denied") log.debug("control connection failed", { uid: c.cred.uid, pid: c.cred.pid, code });
    const dropped = c.queue.length;
    c.push(enc.encode(encodeResponse(errorResponse(id, code, dropped > 0 ? `${message} (${dropped} request(s) read before this were not carried out)` : message))));
    c.lingering = true;
    c.lingerUntil = performance.now() + LINGER_MS;
    c.queue.length = 0;
    c.eof = true;
    this.flush(c);
  }

  /**
   * `fail` without the linger, for a peer refused while its class already holds as many lingering
   * refusals as it may: the error is written if the socket takes it now, then the connection is
   * closed (a Unix socket's peer still reads what was written before the close).
   */
  failNow(c: Connection, id: string | number | null, code: ErrorCode, message: string): void {
    if (c.closed) return;
    this.counters.errors++;
    c.push(enc.encode(encodeResponse(errorResponse(id, code, message))));
    c.writePending();
    this.drop(c, null);
  }

  private shutdownOnce(c: Connection): void {
    if (c.shutDown || c.closed) return;
    c.shutDown = true;
    try {
      shutdownWrite(c.fd);
    } catch {
      this.drop(c, null);
    }
  }

  /** Closes the connection now and forgets it (`why`, when given, is logged). */
  drop(c: Connection, why: string | null): void {
    if (c.closed) return;
    c.closed = true;
    c.queue.length = 0;
    this.conns.delete(c.fd);
    if (why) log.debug("control connection closed", { uid: c.cred.uid, pid: c.cred.pid, why });
    try {
      epollForget(this.ep, c.fd);
    } catch {
      /* already gone from the set */
    }
    try {
      closeFd(c.fd);
    } catch (e) {
      log.warn("close failed", { error: describeError(e) });
    }
  }

  /** Ends lingering connections whose time is up, times out stalled or idle ones, and retries pending output. */
  sweep(now: number): void {
    for (const c of [...this.conns.values()]) {
      const since = c.framer.partialSince;
      if (c.lingering) {
        if (now >= c.lingerUntil) this.drop(c, null);
      } else if (since !== null && now - since > this.o.requestTimeoutMs) this.fail(c, null, "timeout", `request incomplete after ${this.o.requestTimeoutMs} ms; closing`);
      else if (!c.busy && c.queue.length === 0 && now - c.lastActive > this.o.idleTimeoutMs) this.fail(c, null, "timeout", `idle for ${this.o.idleTimeoutMs} ms; closing`);
      else if (c.outLen > 0) this.flush(c);
    }
  }

  /** Closes every connection; `farewell`, when given, is written first to each (best effort: what the socket takes now). */
  dropAll(why: string, farewell?: ControlResponse): void {
    for (const c of [...this.conns.values()]) {
      if (farewell && !c.closed && !c.lingering) {
        c.push(enc.encode(encodeResponse(farewell)));
        c.writePending();
      }
      this.drop(c, why);
    }
  }
}
