// The sd_notify socket services report to (READY=1, STATUS=, STOPPING=1, MAINPID=, WATCHDOG=1), read without blocking PID 1.
import { basename, dirname, join } from "node:path";
import { logger } from "../log.ts";
import { wakeOnReadable } from "../sys/fd-wake.ts";
import { closeNotifySocket, openNotifySocket, receiveNotify } from "../sys/notify.ts";
import { Sig } from "../sys/signals.ts";
import { describeError } from "../errors.ts";
import { ownDirectory } from "../util/own-dir.ts";

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

/** Who sent a message: its pid and uid as the kernel reports them (never what the message claims). */
export type NotifyHandler = (sender: { pid: number; uid: number }, fields: Map<string, string>) => void;

/**
 * A datagram socket at `path` (NOTIFY_SOCKET names it), mode 0666 as systemd's own: a service running
 * under another uid must be able to send, and what it may say is decided by the kernel-checked sender
 * pid, never by the socket's permissions (a message from a pid outside every service is ignored). Read
 * with a nonblocking recvmsg when a datagram signals its arrival (SIGURG, O_ASYNC), at most 64 a turn,
 * so PID 1 never waits on it.
 */
export class NotifySocket {
  private readonly fd: number;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly onWake = (): void => this.drain();
  private againQueued = false;

  constructor(
    readonly path: string,
    private readonly onMessage: NotifyHandler,
    /** The safety poll: a datagram wakes the loop itself (SIGURG); 20 ms when it cannot. */
    pollMs = 1000,
  ) {
    ownDirectory(dirname(path), 0o755, () => new Error(`${dirname(path)} is not a directory owned by this user`));
    this.fd = openNotifySocket(path, 0o666);
    try {
      wakeOnReadable(this.fd, Sig.SIGURG);
      process.on("SIGURG", this.onWake);
    } catch (e) {
      log.warn("the notify socket cannot wake the loop: polling it", { every_ms: 20, error: describeError(e) });
      pollMs = 20;
    }
    this.timer = setInterval(() => this.drain(), pollMs);
  }

  /** Reads every waiting message now (64 at most per turn; the rest right after). */
  drain(): void {
    for (let i = 0; i < 64; i++) {
      let d;
      try {
        d = receiveNotify(this.fd);
      } catch (e) {
        log.warn("notify socket read failed", { error: describeError(e) });
        return;
      }
      if (!d) return;
      this.onMessage({ pid: d.pid, uid: d.uid }, parseNotify(d.text));
    }
    if (!this.againQueued) {
      this.againQueued = true;
      setImmediate(() => {
        this.againQueued = false;
        this.drain();
      });
    }
  }

  close(): void {
    process.off("SIGURG", this.onWake);
    clearInterval(this.timer);
    closeNotifySocket(this.fd);
  }
}
