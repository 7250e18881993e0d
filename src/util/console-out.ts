// Text to the init's stdout/stderr: write(2) that never blocks while it goes through whole, Bun's stream from the first short write on.
import { nodeFs } from "./node-fs.ts";

/**
 * Creating Bun's first stdio stream (`process.stdout`/`process.stderr`) costs 3-5 ms of start-up
 * (it loads node:stream), a tenth of a boot's time to its first beat. So text goes out with write(2):
 * - a regular file: straight to the descriptor (a disk never makes it wait for a reader);
 * - a pipe or a terminal (a serial console): through a second, non-blocking open file of the same pipe
 *   or terminal (`/proc/self/fd/N`), so a slow console never stops the init, and the file the services
 *   share keeps its flags.
 * What the console cannot take yet (EAGAIN, a short write) waits in a backlog, written in order as
 * the console takes it (retried every RETRY_MS), everything after it queued behind: no line is torn,
 * and the init does not wait. The backlog is bounded (BACKLOG_MAX): Bun's stream, which kept it
 * before, held everything (a 115200-baud console and a service logging 100 KB/s grew PID 1 by 300 MB
 * an hour) and reported none of it (`writableLength` 0). Past the bound whole texts are dropped and
 * counted, and a line says how many once the console has caught up; the services' rings, log files
 * and kmsg keep their lines. Sockets and anything that cannot be opened again (no /proc, a pipe
 * without a reader) use Bun's stream. A console that is gone (EPIPE, EIO) costs the text, never the init.
 */
type Route = { kind: "fd"; fd: number } | { kind: "stream" };
const routes: [Route | null, Route | null, Route | null] = [null, null, null];
const handled: [boolean, boolean, boolean] = [false, false, false];

/** What a console that does not keep up may have waiting, per descriptor. */
export const BACKLOG_MAX = 1 << 20;
const RETRY_MS = 20;

interface Backlog {
  parts: Uint8Array[];
  bytes: number;
  /** Lines dropped since the backlog was last empty. */
  dropped: number;
  timer: ReturnType<typeof setTimeout> | null;
}
const backlogs: [Backlog | null, Backlog | null, Backlog | null] = [null, null, null];

function routeOf(fd: 1 | 2): Route {
  try {
    if (nodeFs().fstatSync(fd).isFile()) return { kind: "fd", fd };
  } catch {
    /* closed: the stream decides */
  }
  const own = reopenNonBlocking(fd);
  return own !== null ? { kind: "fd", fd: own } : { kind: "stream" };
}

/**
 * A second, non-blocking open file of `fd`'s pipe or terminal (`/proc/self/fd/N`: the file
 * description the services share keeps its flags), or null when `fd` is neither or cannot be opened
 * again (no /proc, a pipe without a reader, closed). The caller closes it.
 */
export function reopenNonBlocking(fd: number): number | null {
  try {
    const { constants, fstatSync, openSync } = nodeFs();
    const st = fstatSync(fd);
    if (!st.isFIFO() && !st.isCharacterDevice()) return null;
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY | 0o2000000 /* O_CLOEXEC */);
  } catch {
    return null;
  }
}

/** The stream of fd 1 or 2, with an error handler: a closed console must not throw in PID 1. */
function toStream(fd: 1 | 2): NodeJS.WriteStream {
  const s = fd === 1 ? process.stdout : process.stderr;
  if (!handled[fd]) {
    handled[fd] = true;
    s.on("error", () => {
      /* console gone: what is written to it is lost, the init goes on */
    });
  }
  return s;
}

const newlines = (b: Uint8Array): number => {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return Math.max(n, 1);
};

/** Writes as much of `bytes` from `at` as the descriptor takes now; returns where it stopped. Throws for a console that is gone. */
function writeNow(fd: number, bytes: Uint8Array, at: number): number {
  try {
    const { writeSync } = nodeFs();
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
  }
  return at;
}

/** flushBacklog again after RETRY_MS. */
function retryLater(out: number, q: Backlog): void {
  q.timer = setTimeout(() => flushBacklog(out, q), RETRY_MS);
  q.timer.unref?.();
}

/** Writes what waits, in order, as far as the console takes it; the rest is retried after RETRY_MS. */
function flushBacklog(out: number, q: Backlog): void {
  q.timer = null;
  try {
    while (q.parts.length > 0) {
      const part = q.parts[0]!;
      const at = writeNow(out, part, 0);
      q.bytes -= at;
      if (at < part.length) {
        q.parts[0] = part.subarray(at);
        return retryLater(out, q);
      }
      q.parts.shift();
    }
    if (q.dropped > 0) {
      const note = Buffer.from(`[console: ${q.dropped} lines dropped: it did not keep up (over ${BACKLOG_MAX >> 10} KiB waiting)]\n`);
      q.dropped = 0;
      enqueue(out, q, note, 0);
    }
  } catch {
    // Console gone: what waited is lost, the init goes on.
    q.parts = [];
    q.bytes = 0;
  }
}

function enqueue(out: number, q: Backlog, bytes: Uint8Array, at: number): void {
  const rest = bytes.subarray(at);
  if (rest.length === 0) return;
  if (q.bytes + rest.length > BACKLOG_MAX && at === 0) {
    q.dropped += newlines(rest);
    return;
  }
  q.parts.push(rest);
  q.bytes += rest.length;
  if (q.timer === null) retryLater(out, q);
}

/** Writes `text` to fd 1 or 2 (see above). Throws only for a console that is gone. */
export function consoleWrite(fd: 1 | 2, text: string): void {
  const route = (routes[fd] ??= routeOf(fd));
  if (route.kind === "stream") {
    toStream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text, "utf8");
  const q = backlogs[fd];
  // Behind what already waits, never before it.
  if (q !== null && q.bytes > 0) return enqueue(route.fd, q, bytes, 0);
  const at = writeNow(route.fd, bytes, 0);
  if (at < bytes.length) enqueue(route.fd, (backlogs[fd] ??= { parts: [], bytes: 0, dropped: 0, timer: null }), bytes, at);
}

/**
 * Before the process exits (or reboot(2)): writes what waits, retrying while the console takes it,
 * for at most `maxMs` (process.exit would drop it).
 */
export function consoleDrain(maxMs: number): void {
  const end = performance.now() + maxMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const fd of [1, 2] as const) {
    const q = backlogs[fd];
    const route = routes[fd];
    if (q === null || route?.kind !== "fd") continue;
    if (q.timer !== null) clearTimeout(q.timer);
    for (;;) {
      flushBacklog(route.fd, q);
      if (q.timer === null) break;
      // Past the deadline the retry timer flushBacklog armed stays (the process may go on: an exec that failed).
      if (performance.now() >= end) break;
      clearTimeout(q.timer);
      q.timer = null;
      Atomics.wait(nap, 0, 0, 2);
    }
  }
}
