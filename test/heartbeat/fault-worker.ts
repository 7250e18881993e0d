// Test-only metabolic worker: the real worker plus faults the test injects through a file (one shot each).
import { readFileSync, rmSync } from "node:fs";
import "../../src/heartbeat/metabolic-worker.ts";
import { faultFile } from "./fault-file.ts";

// Each fault is read once, then removed; an empty read (not written yet) is left for the next poll.
// Except "block-all PATH": kept, and every worker that starts while it is there blocks at once (in
// open() of the FIFO PATH) before it publishes anything, and stays blocked until PATH gets a writer.

{
  let sticky = "";
  try {
    sticky = readFileSync(faultFile, "utf8").trim();
  } catch {
    /* no fault */
  }
  if (sticky.startsWith("block-all ")) readFileSync(sticky.slice(10));
  const poll = setInterval(() => {
    let cmd: string;
    try {
      cmd = readFileSync(faultFile, "utf8").trim();
      if (cmd === "") return;
      if (cmd.startsWith("block-all ")) {
        readFileSync(cmd.slice(10));
        return;
      }
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
    } else if (cmd.startsWith("block ")) {
      // Blocked in open() of a FIFO nobody writes (a sensor that never answers): terminate() cannot end that.
      readFileSync(cmd.slice(6));
    } else if (cmd === "hang") {
      for (;;) {
        // never returns: the main thread must notice the missing samples and terminate us
      }
    }
  }, 5);
}
