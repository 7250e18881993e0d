// Requests held while a live re-exec hands over: those that would change a handed-over part wait, unread, for its outcome.
import { logger } from "../log.ts";
import type { Connection } from "./connection.ts";
import { HANDED_OVER_OPS, opOf } from "./protocol.ts";

const log = logger("control");

/**
 * From the start of a live re-exec's handover (before the first phase writes its part) until its
 * end, a `start`, `stop`, `restart`, `mutate` or `checkpoint` is not carried out: it stays at the
 * head of its connection's queue. The exec drops the connection unanswered (the CLI follows a
 * service request through to the new image); an exec that fails ends the hold and the running image
 * answers it. Carried out meanwhile, it was acknowledged by the old image but missing from the
 * services' snapshot: a started service ran unwatched under the new image, which listed it stopped.
 * Read-only requests (and `poweroff`, `reboot`, `reexec`, which the handover itself answers) go on.
 */
export class HandoverHold {
  private on = false;
  private readonly waiting = new Set<Connection>();

  begin(): void {
    this.on = true;
  }

  /** True when `line`, the next request of `c`, must wait for the end of the hold. */
  holds(c: Connection, line: string): boolean {
    if (!this.on) return false;
    const op = opOf(line);
    if (op === null || !HANDED_OVER_OPS.has(op)) return false;
    if (!this.waiting.has(c)) {
      this.waiting.add(c);
      log.info("control request held until the live re-exec is done", { op, uid: c.cred.uid, pid: c.cred.pid });
    }
    return true;
  }

  /** Ends the hold (the exec did not happen): the connections whose requests waited, to be served now. */
  end(): Connection[] {
    this.on = false;
    const held = [...this.waiting];
    this.waiting.clear();
    return held;
  }
}
