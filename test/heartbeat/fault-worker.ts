// Test-only metabolic worker: the real worker plus faults the test injects through a file (one shot each).
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../src/heartbeat/metabolic-worker.ts";

/** The fault file of the test process (a worker shares its pid): "crash MESSAGE" or "hang", read once, then removed. */
const faultFile = join(tmpdir(), `vb-test-fault-${process.pid}`);

{
  const poll = setInterval(() => {
    let cmd: string;
    try {
      cmd = readFileSync(faultFile, "utf8").trim();
      rmSync(faultFile);
    } catch {
      return;
    }
    if (cmd.startsWith("crash")) {
      clearInterval(poll);
      // From a timer: a real uncaught exception in the worker, not a rejected message.
      setTimeout(() => {
        throw new Error(cmd.slice(6) || "injected crash");
      }, 0);
    } else if (cmd === "hang") {
      for (;;) {
        // never returns: the main thread must notice the missing samples and terminate us
      }
    }
  }, 5);
}
