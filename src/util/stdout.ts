// The commands' stdout: text written through Bun's stream, and a flush before exit (process.exit dropped what a slow pipe had not taken yet).
let used = false;
/** A write to stdout that failed other than by a reader gone (EPIPE): the disk full, an I/O error. */
let failure: string | null = null;

/** Writes text to stdout, ending in one newline (added when it has none). */
export function out(text: string): void {
  if (!used) {
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") failure ??= e.code ?? String(e);
    });
  }
  used = true;
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Waits until everything `out` wrote has reached the descriptor. Bun's stdout on a pipe keeps what
 * the pipe cannot take yet and writes it from the event loop; `process.exit` dropped it: `inspect
 * --json big.gguf | (sleep 1; wc -c)` gave 65536 of 1,165,995 bytes, with exit 0. Ends stdout.
 * Does nothing when `out` was never called (creating the stream costs start-up time). Resolves to
 * why the output could not be written (`inspect --json > /dev/full` exited 0, its file empty), or null.
 */
export function flushOut(): Promise<string | null> {
  if (!used) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = () => resolve(failure);
    try {
      process.stdout.end(done);
    } catch {
      done();
    }
    process.stdout.once("error", done); // a reader gone (EPIPE): nothing more can be delivered
  });
}
