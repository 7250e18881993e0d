// Waiting on a condition in tests: polled, bounded, the timeout names what was awaited and what was seen.
export interface WaitOptions {
  /** How often the condition is polled (default 10 ms). */
  pollMs?: number;
  /** What the timeout's error adds after its first line: the init's log, the state that was awaited. */
  explain?: () => string;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, opts: WaitOptions = {}): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await cond()) return;
    await Bun.sleep(opts.pollMs ?? 10);
  }
  const seen = opts.explain?.();
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen === undefined ? "" : `\n${seen}`}`);
}
