// The commands' stdout: text written through Bun's stream, and a flush before exit (process.exit dropped what a slow pipe had not taken yet).
let used = false;

/** Writes text to stdout, ending in one newline (added when it has none). */
export function out(text: string): void {
  used = true;
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Waits until everything `out` wrote has reached the descriptor. Bun's stdout on a pipe keeps what
 * the pipe cannot take yet and writes it from the event loop; `process.exit` dropped it: `inspect
 * --json big.gguf | (sleep 1; wc -c)` gave 65536 of 1,165,995 bytes, with exit 0. Ends stdout.
 * Does nothing when `out` was never called (creating the stream costs start-up time).
 */
export function flushOut(): Promise<void> {
  if (!used) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    try {
      process.stdout.end(done);
    } catch {
      done();
    }
    process.stdout.once("error", done); // a reader gone (EPIPE): nothing more can be delivered
  });
}
