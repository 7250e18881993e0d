// tini mode used to print "ready" and "main child exited" on every run; now it is silent unless asked (-v, -w) or something goes wrong.
import { afterEach, describe, expect, test } from "bun:test";
import { killLeftovers, start, tempDir } from "./harness.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";

afterEach(killLeftovers);

/**
 * A CMD script that leaves an orphan for the init to reap per name, then waits until each is gone
 * from /proc (reaped). Each orphan outlives the subshell that started it: it waits for a file made
 * only once every such subshell has exited. With `sleep 0.05` as the orphan, its end raced its
 * subshell's, and one CI run on a loaded machine saw tini's own -w report no zombie (not reproduced
 * since: 0 in 250 runs, also beside CPU hogs); the orphan's life no longer depends on that timing.
 */
function orphanScript(dir: string, names: string[]): string {
  const start = names.map((n) => `(sh -c 'until [ -e ${dir}/go ]; do sleep 0.01; done' & echo $! > ${dir}/${n})`).join(" ; ");
  return `rm -f ${dir}/go ; ${start} ; : > ${dir}/go ; for f in ${names.join(" ")}; do p=$(cat ${dir}/$f); while [ -e /proc/$p ]; do sleep 0.01; done; done`;
}

for (const pid1 of [false, true]) {
  describe(`tini mode ${pid1 ? "as PID 1" : "as a subreaper"}`, () => {
    test("a clean run prints nothing of the init's own, even with leftovers to stop", async () => {
      // CMD exits once the leftover's trap is set and its sleep started (not after a guessed 0.1 s):
      // a SIGTERM before the sleep existed would leave the wait on an unsignalled sleep, then SIGKILL.
      const started = join(tempDir(), "started");
      const script = `(trap 'exit 0' TERM; sleep 30 & : > ${started}; wait) & until [ -e ${started} ]; do sleep 0.01; done; echo cmd-out; exit 4`;
      const r = await start(["--", "sh", "-c", script], { pid1 }).result(15_000);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe("cmd-out\n");
      expect(r.stderr).toBe("");
    });

    test("-v (or DUMB_INIT_DEBUG=1, TINI_VERBOSITY=2) prints the init's debug lines", async () => {
      for (const [args, env] of [[["-v"], {}], [[], { DUMB_INIT_DEBUG: "1" }], [[], { TINI_VERBOSITY: "2" }]] as const) {
        const r = await start([...args, "--", "sh", "-c", "exit 0"], { pid1, env }).result(15_000);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("DEBUG init: ready");
        expect(r.stderr).toContain("DEBUG init: main child exited");
      }
    }, 40_000);

    test("a failure is still reported without -v (missing command: one error line)", async () => {
      const r = await start(["--", "/nonexistent/cmd"], { pid1 }).result(15_000);
      expect(r.code).toBe(127);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("ERROR");
    });

    test("-w warns about each reaped process that is not CMD; without -w nothing is said", async () => {
      // Two orphans re-parented to the init (double fork), reaped while CMD still runs: CMD waits until
      // both pids are gone from /proc (reaped, not zombies), not a guessed 0.6 s (an orphan still
      // running at CMD's exit would be a leftover killed by SIGTERM, status 15).
      const dir = tempDir();
      const script = orphanScript(dir, ["a", "b"]);
      const w = await start(["-w", "--", "sh", "-c", script], { pid1 }).result(15_000);
      expect(w.code).toBe(0);
      expect(w.stderr.match(/WARN init: Reaped zombie process with pid=\d+ status=0/g)?.length).toBe(2);
      const quiet = await start(["--", "sh", "-c", script], { pid1 }).result(15_000);
      expect(quiet.stderr).toBe("");
    }, 30_000);

    test("TINI_VERBOSITY=0 (tini's silent level: warnings off, errors kept) still printed -w's warnings: now only errors, and -v still wins", async () => {
      const dir = tempDir();
      const script = orphanScript(dir, ["a"]);
      const silent = await start(["-w", "--", "sh", "-c", script], { pid1, env: { TINI_VERBOSITY: "0" } }).result(15_000);
      expect(silent.code).toBe(0);
      expect(silent.stderr).toBe("");
      const missing = await start(["--", "/nonexistent/cmd"], { pid1, env: { TINI_VERBOSITY: "0" } }).result(15_000);
      expect(missing.code).toBe(127);
      expect(missing.stderr).toContain("ERROR");
      const verbose = await start(["-v", "-w", "--", "sh", "-c", script], { pid1, env: { TINI_VERBOSITY: "0" } }).result(15_000);
      expect(verbose.stderr).toContain("WARN init: Reaped zombie process with pid=");
    }, 40_000);
  });
}

test("TINI_VERBOSITY that tini reads as 0 with atoi (empty, \"quiet\", \"0x2\") still printed -w's warnings where tini is silent, and \"2x\" or \" 2\" (2 to tini) printed no debug lines: now each is read as tini reads it", async () => {
  const dir = tempDir();
  const script = orphanScript(dir, ["a"]);
  const silentValues = ["", "quiet", "0x2"];
  const debugValues = ["2x", " 2"];
  if (existsSync("/usr/bin/tini")) {
    // The reference: tini -w warns (stderr) at level 1 and up, says INFO (stdout) at 2 and up.
    for (const v of [...silentValues, ...debugValues]) {
      const r = Bun.spawnSync(["/usr/bin/tini", "-s", "-w", "--", "sh", "-c", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env, TINI_VERBOSITY: v }, timeout: 15_000 });
      const err = r.stderr.toString() + r.stdout.toString();
      expect({ v, warned: err.includes("Reaped zombie process"), info: err.includes("[INFO ") }).toEqual({ v, warned: debugValues.includes(v), info: debugValues.includes(v) });
    }
  }
  for (const v of silentValues) {
    const r = await start(["-w", "--", "sh", "-c", script], { env: { TINI_VERBOSITY: v } }).result(15_000);
    expect({ v, code: r.code, stderr: r.stderr }).toEqual({ v, code: 0, stderr: "" });
  }
  for (const v of debugValues) {
    const r = await start(["--", "sh", "-c", "exit 0"], { env: { TINI_VERBOSITY: v } }).result(15_000);
    expect({ v, code: r.code, debug: r.stderr.includes("DEBUG init: ready") }).toEqual({ v, code: 0, debug: true });
  }
}, 60_000);
