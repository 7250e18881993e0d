// Producer sessions over a Unix stream socket: hands out a ring, carries the doorbell both ways.
import { chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Socket, SocketHandler, UnixSocketListener } from "bun";
import { ConfigError, describeError, JournalError } from "../errors.ts";
import { logger } from "../log.ts";
import { ownDirectory } from "../util/own-dir.ts";
import { acceptedMismatch, clearSocketPath, heldListenerAt, refuseHandedListener } from "../sys/control.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { setInheritable } from "../sys/process.ts";
import type { EvolutionChannel } from "./channel.ts";
import { PROTOCOL_VERSION } from "./layout.ts";

const log = logger("evolution");

interface SessionData {
  ring: number;
}

/**
 * The listener handed over at a live re-exec, adopted for `path`, or null (logged): it is not that
 * listener. Bun adopts whatever descriptor it is given: a number that is something else now (a file
 * this image opened, another socket) made the session server throw, and PID 1 went on without
 * evolution; another listening socket's connections were handed rings.
 */
function adoptListener(handed: { listener: number; path: string }, path: string, socket: SocketHandler<SessionData>): UnixSocketListener<SessionData> | null {
  const fd = handed.listener;
  const refused = refuseHandedListener(fd, handed.path, path);
  if (refused !== null) {
    log.warn("evolution session socket handed over at the re-exec not adopted; listening anew", { fd, why: refused.why, closed: refused.closed });
    return null;
  }
  try {
    // Bun adopts a listening fd (not in its typings): the path, its mode and its directory are as the previous image left them.
    return (Bun.listen as unknown as (o: { fd: number; socket: SocketHandler<SessionData> }) => UnixSocketListener<SessionData>)({ fd, socket });
  } catch (e) {
    closeFdQuietly(fd);
    log.warn("evolution session socket handed over at the re-exec could not be adopted; closed it, listening anew", { fd, path, error: describeError(e) });
    return null;
  }
}

/**
 * Listens on `<runDir>/evolution.sock` (directory 0700, socket 0600). Each connection gets one
 * ring and a one-line JSON hello; any byte it sends rings the doorbell (`onDoorbell`); the server
 * sends one byte "!" whenever completions were posted on its ring. Closing the connection frees the ring.
 */
export class SessionServer {
  readonly path: string;
  private listener: UnixSocketListener<SessionData>;
  private byRing = new Map<number, Socket<SessionData>>();
  private static bell = new Uint8Array([0x21]);

  /** Whether the listener is the one handed over at a live re-exec (else bound here). */
  readonly adoptedListener: boolean;

  /**
   * `handed`: the listening socket inherited across a live re-exec and the path the previous image
   * bound it to. It is adopted only once it checks out as that listener at this server's path
   * (refuseHandedListener, as for the control socket); else the path is bound anew, with a log line.
   */
  constructor(
    runDir: string,
    private readonly channel: EvolutionChannel,
    onDoorbell: () => void,
    handed?: { listener: number; path: string },
  ) {
    try {
      // A directory refused for what it is (someone else's, a symlink, shared) is a config problem
      // (exit 78); one that cannot be made (EROFS, EACCES) an I/O one.
      ownDirectory(runDir, 0o700, (reason) => new ConfigError("run_dir", `cannot use evolution run directory ${runDir}: ${reason}`));
    } catch (cause) {
      if (cause instanceof ConfigError) throw cause;
      throw new JournalError(`cannot use evolution run directory ${runDir}`, { cause });
    }
    this.path = join(runDir, "evolution.sock");
    const byRing = this.byRing;
    const common: Omit<SocketHandler<SessionData>, "open"> = {
      data() {
        onDoorbell();
      },
      close(sock) {
        const ring = sock.data?.ring ?? -1;
        if (ring >= 0 && byRing.get(ring) === sock) {
          byRing.delete(ring);
          channel.releaseRing(ring);
          log.info("producer session closed", { ring });
        }
      },
      error(sock, err) {
        log.warn("producer session error", { ring: sock.data?.ring ?? -1, err: String(err) });
      },
    };
    this.adopted = common;
    const handlers: SocketHandler<SessionData> = {
      ...common,
      open(sock) {
          const ring = channel.assignRing();
          sock.data = { ring };
          if (ring < 0) {
            sock.end(`${JSON.stringify({ v: PROTOCOL_VERSION, error: "busy: every ring is taken" })}\n`);
            return;
          }
          byRing.set(ring, sock);
          const hello = { v: PROTOCOL_VERSION, pid: process.pid, fd: channel.fd, path: `/proc/${process.pid}/fd/${channel.fd}`, size: channel.size, ring };
          sock.write(`${JSON.stringify(hello)}\n`);
          log.info("producer session opened", { ring });
      },
    };
    // Without a handoff part, a listener at the path this process holds is the one a live re-exec
    // handed over before its handoff proved unreadable (this image boots fresh): serve it.
    const held = handed ? null : heldListenerAt(this.path);
    if (held !== null) log.warn("evolution session socket: a listener at its path was handed over by the previous image without a handoff this image could read; adopting it", { fd: held, path: this.path });
    const inherited = handed ?? (held !== null ? { listener: held, path: this.path } : null);
    const adopted = inherited ? adoptListener(inherited, this.path, handlers) : null;
    this.adoptedListener = adopted !== null;
    if (adopted !== null) {
      this.listener = adopted;
      return;
    }
    // A stale file is replaced; a live one is another init's (the same run_dir), never taken over.
    clearSocketPath(this.path, (reason) => new ConfigError("run_dir", reason));
    // A path over sun_path's 107 bytes: Bun 1.4.5 binds it through an O_PATH descriptor of its
    // directory (/proc/self/fd/N/evolution.sock), as native/unix-addr.c does for the control socket.
    this.listener = Bun.listen<SessionData>({ unix: this.path, socket: handlers });
    chmodSync(this.path, 0o600);
  }

  private readonly adopted: Omit<SocketHandler<SessionData>, "open">;

  /**
   * After a live re-exec: takes over the connected socket of each open session (the producer sees
   * nothing but a pause), each once it checks out as a connection accepted on the listener bound to
   * `path` (acceptedMismatch). Bun adopts whatever descriptor it is given: a number that is something
   * else now (a file made Bun throw, and PID 1 went on without evolution; the control socket's
   * listener was served as ring 0's session, that ring never freed) is skipped with a warning and left
   * open, its ring freed: its producer reconnects and re-sends what had no completion. Returns the
   * fds adopted (close-on-exec set again here).
   */
  async adoptSessions(sessions: { ring: number; fd: number }[], path: string): Promise<number[]> {
    const connect = Bun.connect as unknown as (o: { fd: number; data: SessionData; socket: SocketHandler<SessionData> }) => Promise<Socket<SessionData>>;
    const listener = (this.listener as unknown as { fd: number }).fd;
    const adopted: number[] = [];
    for (const { ring, fd } of sessions) {
      const mismatch = fd === listener || adopted.includes(fd) ? "named twice" : acceptedMismatch(fd, path);
      if (mismatch !== null) {
        this.channel.releaseRing(ring);
        log.warn("producer session handed over at the re-exec not adopted (its producer reconnects)", { ring, fd, why: `fd ${fd} is not a connection accepted on ${path} (${mismatch})` });
        continue;
      }
      setInheritable(fd, false);
      try {
        this.byRing.set(ring, await connect({ fd, data: { ring }, socket: this.adopted }));
        adopted.push(fd);
      } catch (e) {
        // Proven that session: closing it ends the session, and its producer reconnects.
        closeFdQuietly(fd);
        this.channel.releaseRing(ring);
        log.warn("producer session handed over at the re-exec could not be adopted; closed it (its producer reconnects)", { ring, fd, error: describeError(e) });
      }
    }
    // A bell the previous image posted may not have left before the exec: ring each once.
    for (const r of this.byRing.keys()) this.notify(r);
    return adopted;
  }

  /** Live re-exec: the listener and every session socket stay open across execve (`keep`), or not. */
  handOver(keep: boolean): { listener: number; sessions: { ring: number; fd: number }[] } {
    const listener = (this.listener as unknown as { fd: number }).fd;
    // A socket already closing has no fd (-1): its session is over, nothing to hand over.
    const sessions = [...this.byRing].map(([ring, s]) => ({ ring, fd: (s as unknown as { fd: number }).fd })).filter((s) => s.fd >= 0);
    for (const fd of [listener, ...sessions.map((s) => s.fd)]) setInheritable(fd, keep);
    return { listener, sessions };
  }

  /** Rings the producer of `ring` (completions are waiting). */
  notify(ring: number): void {
    const s = this.byRing.get(ring);
    if (s) s.write(SessionServer.bell);
  }

  get sessions(): number {
    return this.byRing.size;
  }

  stop(): void {
    for (const s of this.byRing.values()) s.end();
    this.listener.stop(true);
    rmSync(this.path, { force: true });
  }
}
