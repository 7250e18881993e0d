// A stand-in watchdog device: a FIFO read by `cat` (the init refuses a regular file); every byte written arrives with its time.
import { closeSync, constants, openSync } from "node:fs";
import { mkfifo } from "./fifo.ts";

export function standInWatchdog(dir: string) {
  const path = mkfifo(dir, "watchdog");
  // A reader from the start: the init opens the device O_NONBLOCK, which fails (ENXIO) while no one
  // has the FIFO open for reading, and `cat` may not have got there yet. This one never reads (cat
  // gets every byte) and is closed once cat is done.
  const presence = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const reader = Bun.spawn(["cat", path], { stdout: "pipe", stderr: "ignore" });
  const bytes: { at: number; byte: number }[] = [];
  let closedAt: number | null = null;
  const done = (async () => {
    for await (const chunk of reader.stdout) for (const b of chunk) bytes.push({ at: performance.now(), byte: b });
    closedAt = performance.now();
    closeSync(presence);
  })();
  return { path, bytes, closedAt: () => closedAt, done, reader };
}
