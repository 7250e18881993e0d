// Live re-exec (SIGHUP) as PID 1: services keep their pids, exits during the handoff are handled, beats continue.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "./boot-args.ts";
import { childrenOf, killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");

test("20 re-execs in a row as PID 1 with 3 services: pids unchanged, a service exiting during the handoff is restarted, beat numbering continues", async () => {
  const dir = tempDir();
  const flaky = join(dir, "flaky.log");
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 20,
    heartbeat_log_every: 1,
    services: [
      { name: "one", argv: ["sleep", "1000"] },
      { name: "two", argv: ["sleep", "1000"] },
      // Exits on SIGUSR1, which the test sends right before a re-exec: its exit lands mid-handoff.
      { name: "flaky", argv: ["sh", "-c", `echo $$ >> ${flaky}; trap 'exit 7' USR1; while :; do sleep 0.01; done`], restart: "always", backoff_initial_ms: 10, storm_max: 100 },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => (run.log().match(/service started/g) ?? []).length >= 3, 10_000, "services started");
  const pidsOf = () => childrenOf(init).sort();
  const before = run.log().match(/service started service=(one|two) pid=(\d+)/g)!;
  for (let i = 1; i <= 20; i++) {
    if (i % 5 === 0) {
      // Host pid of the flaky service (the file holds its pid inside the namespace).
      const flakyPid = childrenOf(init).find((p) => read(`/proc/${p}/cmdline`).includes("USR1"));
      expect(flakyPid).toBeDefined();
      process.kill(flakyPid!, "SIGUSR1");
    }
    process.kill(init, "SIGHUP");
    await waitFor(() => run.log().includes(`resuming after re-exec generation=${i} `), 10_000, `re-exec ${i}`).catch((e) => {
      console.error(run.log().split("\n").slice(-25).join("\n"));
      throw e;
    });
    // Two beats of the new image (its signal handlers are in place by then).
    const marker = `resuming after re-exec generation=${i} `;
    await waitFor(() => [...run.log().slice(run.log().indexOf(marker)).matchAll(/: beat n=(\d+)/g)].length >= 2, 5_000, `beats after re-exec ${i}`);
    // Beat numbers never go back and never skip more than the handoff took.
    const beats = [...run.log().matchAll(/: beat n=(\d+)/g)].map((m) => Number(m[1]));
    for (let k = 1; k < beats.length; k++) expect(beats[k]!).toBeGreaterThan(beats[k - 1]!);
  }
  const after = run.log().match(/service adopted service=(one|two) pid=(\d+)/g)!;
  const pidOf = (lines: string[], name: string) => new Set(lines.filter((l) => l.includes(`service=${name} `)).map((l) => l.split("pid=")[1]));
  expect(pidOf(after, "one")).toEqual(pidOf(before, "one"));
  expect(pidOf(after, "two")).toEqual(pidOf(before, "two"));
  // flaky was killed 4 times around a handoff and restarted each time.
  await waitFor(() => read(flaky).trim().split("\n").length >= 5, 5_000, "flaky restarted 4 times").catch((e) => {
    console.error(read(flaky), run.log().split("\n").filter((l) => /flaky|orphan|exited/.test(l)).join("\n"));
    throw e;
  });
  expect(pidsOf().length).toBeGreaterThanOrEqual(3);
  process.kill(init, "SIGTERM");
  const r = await run.result(15_000);
  expect(r.stderr).toContain("poweroff now");
  expect(r.stderr).not.toContain("reaped orphan");
}, 120_000);
