// The sd_notify socket services report to (READY=1, STATUS=, STOPPING=1, MAINPID=, WATCHDOG=1), read without blocking PID 1.
import { basename, dirname, join } from "node:path";
import { logger } from "../log.ts";
import { closeNotifySocket, NOTIFY_MAX_BYTES, notifySocketMismatch, openNotifySocket, receiveNotify } from "../sys/notify.ts";
import { setInheritable } from "../sys/process.ts";
import { describeError, SysError } from "../errors.ts";
import { ownDirectory } from "../util/own-dir.ts";
import { fitsSunPath, SUN_PATH_MAX } from "../util/unix-path.ts";
import { WakeOrPoll } from "./wake-or-poll.ts";

const log = logger("notify");

/** Fields of one message ("KEY=VALUE" lines); unknown keys are kept, malformed lines dropped. */
export function parseNotify(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/**
 * Where the socket goes for a run directory: its own directory beside it (`/run/vector-boot-notify/notify`
 * for `/run/vector-boot`), mode 0755, because the run directory itself is 0700 (the control and
 * evolution sockets live there) and a service running under another uid must reach the socket.
 */
export function notifyPathFor(runDir: string): string {
  return join(dirname(runDir), `${basename(runDir)}-notify`, "notify");
}

/**
 * What services get in NOTIFY_SOCKET for the socket at `path`: the path itself when it fits a
 * sockaddr_un (107 bytes); else the abstract address `@vector-boot-notify/<SHA-256 of the path, 32
 * hex>`. sd_notify clients send to the NOTIFY_SOCKET string as their address, and the usual ones
 * cannot reach a longer path (Python's socket: "AF_UNIX path too long"; systemd-notify 252: "File
 * name too long"), while every one that follows sd_notify(3) takes `@name` as abstract. Derived from the path, so a re-exec binds
 * the same name and running services keep reaching it. An abstract socket has no file mode (anyone in
 * the network namespace may send, as the 0666 file allows anyway; the kernel-checked sender pid decides
 * what counts), but a name can be taken first by another process: then the bind fails, logged.
 */
export function notifyAddressFor(path: string): string {
  if (fitsSunPath(path)) return path;
  return `@vector-boot-notify/${new Bun.CryptoHasher("sha256").update(path).digest("hex").slice(0, 32)}`;
}

/** Who sent a message, as the kernel reports it (never what the message claims): pid, uid and, where the kernel says, its cgroup v2 id. */
export interface NotifySender {
  pid: number;
  uid: number;
  cgroupId: bigint | null;
}

export type NotifyHandler = (sender: NotifySender, fields: Map<string, string>) => void;

/**
 * The sd_notify part of a live re-exec handoff (handoff 8): the socket, kept open across the execve,
 * and the address it is bound to. Before 8 it closed at the exec: what a service had sent and the
 * old image had not read was gone, and a message sent before the next image bound it again was
 * refused (ECONNREFUSED, which sd_notify clients ignore): a READY=1 sent then was lost and the
 * healthy service killed at its readiness timeout.
 */
export interface NotifyPart {
  fd: number;
  address: string;
}

/**
 * Closes the handed-over socket of a previous image when this one needs none (no service of its
 * config reports): checked first, so a number that is no longer that socket is left alone.
 */
export function closeHandedNotify(handed: NotifyPart): void {
  // ENOENT: that very socket (checked first), its file gone: closed too (one fd per such re-exec stayed open).
  const mismatch = notifySocketMismatch(handed.fd, handed.address);
  if (mismatch === null || mismatch === "ENOENT") closeNotifySocket(handed.fd);
}

/**
 * A datagram socket at `path` (NOTIFY_SOCKET names it; an abstract one when `path` is too long),
 * mode 0666 as systemd's own: a service running under another uid must be able to send, and what it
 * may say is decided by the kernel-checked sender pid, never by the socket's permissions (a message
 * from a pid outside every service is ignored). Read with a nonblocking recvmsg when datagrams arrive (WakeOrPoll: a signal while quiet, a 20 ms poll
 * while they flow), at most 64 a turn, so PID 1 never waits on it.
 */
export class NotifySocket {
  private readonly fd: number;
  private readonly pacer: WakeOrPoll;

  /** NOTIFY_SOCKET for services: `path`, or an abstract `@name` when `path` is too long (notifyAddressFor). */
  readonly address: string;

  constructor(
    readonly path: string,
    private readonly onMessage: NotifyHandler,
    handed: NotifyPart | null = null,
  ) {
    this.address = notifyAddressFor(path);
    if (this.address === path) ownDirectory(dirname(path), 0o755, (reason) => new Error(reason));
    else log.info(`sd_notify socket path is over the ${SUN_PATH_MAX} bytes of a Unix socket address; services get an abstract one`, { path, bytes: Buffer.byteLength(path), address: this.address });
    const adopted = handed === null ? null : this.adopt(handed);
    try {
      this.fd = adopted ?? openNotifySocket(this.address, 0o666);
    } catch (e) {
      if (!(e instanceof SysError) || e.errno !== "EADDRINUSE") throw e;
      const who = this.address === path ? `${path}: in use by another running instance (two inits with the same run_dir?)` : `${this.address} (the abstract name for ${path}): another process holds it; a shorter run_dir gives a socket file`;
      throw new SysError("bind", e.errno, e.code, who, { cause: e });
    }
    this.pacer = new WakeOrPoll(() => this.drain(), { what: "the sd_notify socket" });
    this.pacer.add(this.fd);
  }

  /** The previous image's socket when it is still the one bound here (what waits in it is read as usual), else null: bound anew. */
  private adopt(handed: NotifyPart): number | null {
    const mismatch = handed.address === this.address ? notifySocketMismatch(handed.fd, handed.address) : "a different address";
    if (mismatch !== null) {
      // Ours but useless (its file gone: checked already; run_dir changed): closed, so the path can be bound again.
      if (mismatch === "ENOENT") closeNotifySocket(handed.fd);
      else if (mismatch === "a different address") closeHandedNotify(handed);
      log.warn("sd_notify socket handed over at the re-exec not adopted; binding it anew", { fd: handed.fd, address: handed.address, why: mismatch });
      return null;
    }
    setInheritable(handed.fd, false);
    log.info("sd_notify socket adopted", { fd: handed.fd, address: this.address });
    return handed.fd;
  }

  /** Live re-exec, at the exec itself: the socket stays open across the execve (what is waiting in it too), for the next image. */
  handOver(): NotifyPart {
    setInheritable(this.fd, true);
    return { fd: this.fd, address: this.address };
  }

  /** The handover ended without an exec: close-on-exec again. */
  endHandover(): void {
    setInheritable(this.fd, false);
  }

  /** Reads the waiting messages now (64 at most per turn; the pacer reads the rest); returns how many. */
  drain(): number {
    let i = 0;
    for (; i < 64; i++) {
      let d;
      try {
        d = receiveNotify(this.fd);
      } catch (e) {
        log.warn("notify socket read failed", { error: describeError(e) });
        break;
      }
      if (!d) break;
      // Cut at the buffer, its fields were applied as far as they went: a READY=1 past the cut was
      // lost without a word, a MAINPID= cut short named another process. Dropped whole, as systemd does.
      if (d.tooLong !== undefined) {
        log.warn(`sd_notify message over ${NOTIFY_MAX_BYTES} bytes; dropped (as systemd drops it)`, { pid: d.pid, bytes: d.tooLong });
        continue;
      }
      this.onMessage({ pid: d.pid, uid: d.uid, cgroupId: d.cgroupId }, parseNotify(d.text));
    }
    return i;
  }

  /**
   * Reads every message waiting now (at most `most`), before an exit is handled: one sent before the
   * exit (a forking daemon's MAINPID= naming its child) must be seen first, as systemd reads its
   * notify socket before SIGCHLD.
   */
  drainWaiting(most = 1024): void {
    for (let n = 0; n < most; n += 64) if (this.drain() < 64) return;
  }

  close(): void {
    this.pacer.close();
    closeNotifySocket(this.fd);
  }
}
