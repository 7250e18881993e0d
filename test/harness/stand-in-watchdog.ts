// A stand-in watchdog device: a FIFO read by `cat` (the init refuses a regular file); every byte written arrives with its time.
import { mkfifo } from "./fifo.ts";

export function standInWatchdog(dir: string) {
  const path = mkfifo(dir, "watchdog");
  const reader = Bun.spawn(["cat", path], { stdout: "pipe", stderr: "ignore" });
  const bytes: { at: number; byte: number }[] = [];
  let closedAt: number | null = null;
  const done = (async () => {
    for await (const chunk of reader.stdout) for (const b of chunk) bytes.push({ at: performance.now(), byte: b });
    closedAt = performance.now();
  })();
  return { path, bytes, closedAt: () => closedAt, done, reader };
}
