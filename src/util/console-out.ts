// Text to the init's stdout/stderr: write(2) that never blocks while it goes through whole, Bun's stream from the first short write on.
import { nodeFs } from "./node-fs.ts";

/**
 * Creating Bun's first stdio stream (`process.stdout`/`process.stderr`) costs 3-5 ms of start-up
 * (it loads node:stream), a tenth of a boot's time to its first beat. So text goes out with write(2):
 * - a regular file: straight to the descriptor (a disk never makes it wait for a reader);
 * - a pipe or a terminal (a serial console): through a second, non-blocking open file of the same pipe
 *   or terminal (`/proc/self/fd/N`), so a slow console never stops the init, and the file the services
 *   share keeps its flags.
 * The first EAGAIN or short write hands the rest of that text, and everything after it on that
 * descriptor, to Bun's stream, which keeps what the console cannot take yet and writes it in order:
 * no line is torn or dropped, and the init does not wait. Sockets and anything that cannot be opened
 * again (no /proc, a pipe without a reader) use the stream from the start. A console that is gone
 * (EPIPE, EIO) costs the text, never the init.
 */
type Route = { kind: "fd"; fd: number } | { kind: "stream" };
const routes: [Route | null, Route | null, Route | null] = [null, null, null];
const handled: [boolean, boolean, boolean] = [false, false, false];

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

/** The stream of fd 1 or 2 from now on, with an error handler: a closed console must not throw in PID 1. */
function toStream(fd: 1 | 2): NodeJS.WriteStream {
  const was = routes[fd];
  if (was?.kind === "fd" && was.fd !== fd) nodeFs().closeSync(was.fd);
  routes[fd] = { kind: "stream" };
  const s = fd === 1 ? process.stdout : process.stderr;
  if (!handled[fd]) {
    handled[fd] = true;
    s.on("error", () => {
      /* console gone: what is written to it is lost, the init goes on */
    });
  }
  return s;
}

/** Writes `text` to fd 1 or 2 (see above). Throws only for a console that is gone. */
export function consoleWrite(fd: 1 | 2, text: string): void {
  const route = (routes[fd] ??= routeOf(fd));
  if (route.kind === "stream") {
    toStream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text, "utf8");
  let at = 0;
  try {
    const { writeSync } = nodeFs();
    while (at < bytes.length) at += writeSync(route.fd, bytes, at, bytes.length - at);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    toStream(fd).write(bytes.subarray(at));
  }
}
