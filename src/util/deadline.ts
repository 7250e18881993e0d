// Waiting for work under a time bound: on timeout the work is abandoned (it keeps running), never cancelled.

/** Resolves to "done" when `work` settles, or "timeout" when `ms` passes first. A rejection of `work` propagates. */
export async function withDeadline(work: () => Promise<unknown> | unknown, ms: number): Promise<"done" | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(0, ms))));
  try {
    return await Promise.race([Promise.resolve().then(work).then(() => "done" as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
