// The sd_notify socket services report to (READY=1, STATUS=, STOPPING=1, MAINPID=, WATCHDOG=1), read without blocking PID 1.
import { basename, dirname, join } from "node:path";
import { logger } from "../log.ts";
import { closeNotifySocket, openNotifySocket, receiveNotify } from "../sys/notify.ts";
import { describeError } from "../errors.ts";
import { ownDirectory } from "../util/own-dir.ts";
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

/** Who sent a message: its pid and uid as the kernel reports them (never what the message claims). */
export type NotifyHandler = (sender: { pid: number; uid: number }, fields: Map<string, string>) => void;

/**
 * A datagram socket at `path` (NOTIFY_SOCKET names it), mode 0666 as systemd's own: a service running
 * under another uid must be able to send, and what it may say is decided by the kernel-checked sender
 * pid, never by the socket's permissions (a message from a pid outside every service is ignored). Read
 * with a nonblocking recvmsg when datagrams arrive (WakeOrPoll: a signal while quiet, a 20 ms poll
 * while they flow), at most 64 a turn, so PID 1 never waits on it.
 */
export class NotifySocket {
  private readonly fd: number;
  private readonly pacer: WakeOrPoll;

  constructor(
    readonly path: string,
    private readonly onMessage: NotifyHandler,
  ) {
    ownDirectory(dirname(path), 0o755, () => new Error(`${dirname(path)} is not a directory owned by this user`));
    this.fd = openNotifySocket(path, 0o666);
    this.pacer = new WakeOrPoll(() => this.drain(), { what: "the sd_notify socket" });
    this.pacer.add(this.fd);
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
      this.onMessage({ pid: d.pid, uid: d.uid }, parseNotify(d.text));
    }
    return i;
  }

  close(): void {
    this.pacer.close();
    closeNotifySocket(this.fd);
  }
}
