// A control server in a process of its own (run under a low `ulimit -n`) that says whether it could still open files.
// Usage: bun fd-probe-server.ts DIR ALLOW_GID MAX_CONNECTIONS -> prints the socket path; on stdin's end one JSON line:
// {"openFailures": N, "peakConnections": N, ...stats} (openFailures: opens of /dev/null that failed, every 2 ms).
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { ControlServer } from "../../src/control/server.ts";
import { StubTarget } from "./harness.ts";

const [dir, gidArg, maxArg] = process.argv.slice(2);
const path = join(dir!, "run", "control");
const server = new ControlServer({ target: new StubTarget(), path, allowGid: Number(gidArg), socketMode: 0o666, dirMode: 0o755, maxConnections: Number(maxArg) });
let openFailures = 0;
let peakConnections = 0;
const probe = setInterval(() => {
  try {
    closeSync(openSync("/dev/null", "r"));
  } catch {
    openFailures++;
  }
  peakConnections = Math.max(peakConnections, server.stats().connections);
}, 2);
process.stdout.write(`${path}\n`);
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  clearInterval(probe);
  process.stdout.write(`${JSON.stringify({ openFailures, peakConnections, ...server.stats() })}\n`);
  server.close();
  process.exit(0);
});
