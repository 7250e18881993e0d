// A while after the start: gives the kernel back the executable's pages only the start-up needed (boot's `image_trim_ms`, tini mode).
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { startImageTrim } from "../sys/image-trim.ts";

const log = logger("init");

const mib = (bytes: number | null) => (bytes === null ? "unknown" : (bytes / 1048576).toFixed(1));
/**
 * Bun reads /proc/self/statm, which needs a descriptor: an init at its RLIMIT_NOFILE (services' pipes)
 * died of "SystemError: Failed to get memory usage" (uncaught, exit 70) when its trim came round.
 */
const residentBytes = (): number | null => {
  try {
    return process.memoryUsage.rss();
  } catch {
    return null;
  }
};

/**
 * Of the 113 MB executable, a boot touches ~45 MiB (the boot's code, its bytecode, zod, the config
 * and model checks), its heartbeat's steady state ~25 MiB (tini mode: ~27 and ~8); the rest stays
 * resident only because nothing asks for it back. `afterMs` from now the loaded segments get
 * MADV_PAGEOUT once: what the beat, the worker, the control server or the reaper touch again comes
 * back by a page fault (from the page cache, or the disk for a page that left it). 0: never. A
 * refusal (Linux before 5.4) is logged at info: the init goes on as it was.
 */
export function scheduleImageTrim(afterMs: number): { cancel(): void } {
  if (afterMs <= 0) return { cancel() {} };
  let timer: ReturnType<typeof setTimeout> | null = setTimeout(() => {
    const before = residentBytes();
    const started = performance.now();
    try {
      const trim = startImageTrim();
      // Polled, not waited: the reclaim runs on the shim's thread while the beat goes on.
      const poll = () => {
        try {
          const advised = trim.done();
          if (advised === null) return void (timer = setTimeout(poll, 10));
          timer = null;
          log.info("image trimmed", { rss_mib_before: mib(before), rss_mib_after: mib(residentBytes()), advised_mib: mib(advised), ms: (performance.now() - started).toFixed(1) });
        } catch (e) {
          log.info("image not trimmed", { error: describeError(e) });
        }
      };
      poll();
    } catch (e) {
      log.info("image not trimmed", { error: describeError(e) });
    }
  }, afterMs);
  return {
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
