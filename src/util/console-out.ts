// Text to the init's stdout/stderr: write(2) while it goes through whole, Bun's stream from the first short write on.
import { writeSync } from "node:fs";

/**
 * Creating Bun's first stdio stream (`process.stdout`/`process.stderr`) costs 3-5 ms of start-up
 * (it loads node:stream), a tenth of a boot's time to its first beat. So lines go out with write(2)
 * until one does not go through whole: a console someone made non-blocking (a service shares the
 * open file) answers EAGAIN or takes part of a line. Then the rest of that text, and everything
 * after it on that descriptor, goes through the stream, which keeps what the console cannot take yet
 * and writes it in order: no line is torn or dropped. A console that is gone (EPIPE, EIO) costs the
 * text, never the init.
 */
const streamed: [boolean, boolean, boolean] = [false, false, false];

/** The stream of fd 1 or 2, with an error handler: a closed console must not throw in PID 1. */
function stream(fd: 1 | 2): NodeJS.WriteStream {
  const s = fd === 1 ? process.stdout : process.stderr;
  if (!streamed[fd]) {
    streamed[fd] = true;
    s.on("error", () => {
      /* console gone: what is written to it is lost, the init goes on */
    });
  }
  return s;
}

/** Writes `text` to fd 1 or 2 (see above). Throws only for a console that is gone. */
export function consoleWrite(fd: 1 | 2, text: string): void {
  if (streamed[fd]) {
    stream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text, "utf8");
  let at = 0;
  try {
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    stream(fd).write(bytes.subarray(at));
  }
}
