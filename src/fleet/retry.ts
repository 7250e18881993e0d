// Retrying a write whose repetition is harmless until a deadline, and sleeps a stop can cut short.

/**
 * Repeats a create-only write (or anything whose repetition is harmless) after a failure, back-off
 * 100 ms doubling to 2 s, until it succeeds or `deadline` (Date.now() ms) passes: then the last error
 * is thrown. `final` errors are thrown at once (a conflict no retry can mend).
 */
export async function retryUntil<T>(deadline: number, attempt: (n: number) => Promise<T>, onRetry?: (error: unknown, n: number) => void, final: (error: unknown) => boolean = () => false): Promise<T> {
  for (let n = 1, backoff = 100; ; n++, backoff = Math.min(2000, backoff * 2)) {
    try {
      return await attempt(n);
    } catch (e) {
      if (final(e) || Date.now() + backoff >= deadline) throw e;
      onRetry?.(e, n);
      await Bun.sleep(backoff);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
