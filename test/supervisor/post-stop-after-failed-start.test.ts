// post_stop ran only after a run that held a process: after a failed pre_start, or a command that could not be spawned, nothing cleaned up (systemd runs ExecStopPost= after a failed start too).
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";

const dir = mkdtempSync(join(tmpdir(), "vb-post-stop-failed-start-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

const lines = (p: string) => (existsSync(p) ? readFileSync(p, "utf8").split("\n").filter(Boolean) : []);

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

test("a pre_start that failed (it set up half of what the service needs, then exited 3) and a command that could not be spawned got no post_stop; each gets it, once, and a stop waits for it", async () => {
  const ev = join(dir, "events");
  const post = (name: string) => ({ argv: ["sh", "-c", `echo ${name}-post >> ${ev}`], timeout_ms: 5_000 });
  const cfg = validateConfig({
    services: [
      { name: "pre", argv: ["sh", "-c", `echo pre-main >> ${ev}; exec sleep 600`], pre_start: { argv: ["sh", "-c", `echo pre-pre >> ${ev}; exit 3`] }, post_stop: post("pre"), restart: "never", no_new_privs: false },
      { name: "missing", argv: [join(dir, "no-such-program")], post_stop: post("missing"), restart: "never", no_new_privs: false },
    ],
  });
  const reaper = new Reaper().start(20);
  const sup = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env);
  const state = (n: string) => sup.list().find((s) => s.name === n)!.state;
  try {
    sup.startAll();
    await until(() => state("pre") === "failed" && state("missing") === "failed", 10_000, "both starts failed");
    // A stop of a failed service is settled once its post_stop is over.
    await Promise.all([sup.stop("pre"), sup.stop("missing")]);
    expect(lines(ev).sort()).toEqual(["missing-post", "pre-post", "pre-pre"]);
    expect(lines(ev).indexOf("pre-pre")).toBeLessThan(lines(ev).indexOf("pre-post"));
  } finally {
    await sup.stopAll();
    reaper.stop();
  }
}, 30_000);
