// The log of refused control connections: a few lines one by one, then one summary line per window (a flood never floods the log).
import { logger } from "../log.ts";
import type { PeerCred } from "../sys/control.ts";

const log = logger("control");

/** Refusals logged one by one per window; the rest are counted. */
const LINES_PER_WINDOW = 5;
const WINDOW_MS = 10_000;

/**
 * Each refused connection was one warning line: a peer connecting as fast as it can wrote thousands
 * of lines a second to the console and /dev/kmsg (the kernel's ring lost the boot's own lines). Now
 * LINES_PER_WINDOW a window are logged as before; the others are counted and said in one line (how
 * many, which uids) when the window ends or the server closes.
 */
export class RefusalLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private logged = 0;
  private suppressed = 0;
  private readonly uids = new Set<number>();

  note(cred: PeerCred, now: number): void {
    this.flush(now);
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged < LINES_PER_WINDOW) {
      this.logged++;
      log.warn("control connection refused", { uid: cred.uid, gid: cred.gid, groups: cred.groups?.join(",") ?? "?", pid: cred.pid });
      return;
    }
    this.suppressed++;
    if (this.uids.size < 16) this.uids.add(cred.uid);
  }

  /** Says how many were not logged, once their window is over (or at once: `force`, the server closing). */
  flush(now: number, force = false): void {
    if (this.suppressed === 0 || (!force && now - this.windowStart < WINDOW_MS)) return;
    log.warn("control connections refused, not logged one by one", { count: this.suppressed, uids: [...this.uids].join(","), window_ms: WINDOW_MS });
    this.suppressed = 0;
    this.uids.clear();
  }
}
