// Waiting on a condition in tests: polled, bounded, the timeout names what was awaited.
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 10): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await cond()) return;
    await Bun.sleep(pollMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
