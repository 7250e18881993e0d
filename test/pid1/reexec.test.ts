// Live re-exec as PID 1: services keep their pids, a service exit that lands during the handoff (old
// image gone, new one not started) reaches its service in the new image and is restarted by policy,
// beats continue.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { betweenImages, childrenOf, killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { lines, read } from "./file-text.ts";

afterEach(killLeftovers);

/**
 * The "new image" of a handoff, as a Python script that holds the handoff open: the old image has
 * frozen, written its state and exec'd this (PID 1 is now this script, which reaps nothing: no
 * SIGCHLD handler, no wait; a shell would reap on SIGCHLD); it makes the flaky service exit, waits
 * until that exit has happened (the service is a zombie nobody has reaped), records it, and only
 * then execs the real new image, which must route that exit to the service. `--version` (the
 * preflight) is answered by the real one.
 */
function handoffHolder(dir: string, flakyLog: string, report: string): string {
  return betweenImages(
    dir,
    "hold-handoff.py",
    `pid = int(open(${JSON.stringify(flakyLog)}).read().split()[-1])
os.kill(pid, signal.SIGUSR1)
state = "?"
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        st = open("/proc/%d/stat" % pid).read()
        state = st[st.rindex(")") + 2]
    except FileNotFoundError:
        state = "gone"
        break
    if state == "Z":
        break
    time.sleep(0.001)
unconsumed = "yes" if os.path.exists(os.environ.get("VECTOR_BOOT_HANDOFF", "/nonexistent")) else "no"
with open(${JSON.stringify(report)}, "a") as f:
    f.write("%s pid=%d init=%d handoff_unconsumed=%s\\n" % ("zombie" if state == "Z" else "no-zombie state=" + state, pid, os.getpid(), unconsumed))`,
  );
}

test("20 re-execs in a row as PID 1 with 3 services: pids unchanged, a service exit landing inside the handoff is routed to it by the new image and restarted, beat numbering continues", async () => {
  const dir = tempDir();
  const flaky = join(dir, "flaky.log");
  const report = join(dir, "handoff.log");
  const holder = handoffHolder(dir, flaky, report);
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 20,
    heartbeat_log_every: 1,
    services: [
      { name: "one", argv: ["sleep", "1000"] },
      { name: "two", argv: ["sleep", "1000"] },
      // Exits 7 on SIGUSR1, which only the handoff holder sends.
      { name: "flaky", argv: ["sh", "-c", `trap 'exit 7' USR1; echo $$ >> ${flaky}; while :; do sleep 0.01; done`], restart: "always", backoff_initial_ms: 10, storm_max: 100 },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => (run.log().match(/service started/g) ?? []).length >= 3 && lines(flaky).length === 1, 30_000, "services started");
  const before = run.log().match(/service started service=(one|two) pid=(\d+)/g)!;
  const dumpOnError = (e: unknown) => {
    console.error(run.log().split("\n").slice(-40).join("\n"), "\nhandoff.log:", read(report), "\nflaky.log:", read(flaky));
    throw e;
  };
  for (let i = 1; i <= 20; i++) {
    const marker = `resuming after re-exec generation=${i} `;
    if (i % 5 === 0) {
      // A re-exec into the holder (a control request naming the new image); the flaky service's
      // exit lands between the two images.
      const flakyPid = Number(lines(flaky).at(-1));
      const zombiesBefore = lines(report).length;
      const cli = Bun.spawn(shipped(["reexec", holder, "--socket", join(dir, "run/control"), "--timeout", "30000"]), { stdout: "pipe", stderr: "pipe" });
      await waitFor(() => run.log().includes(marker), 30_000, `re-exec ${i} (through the handoff holder)`).catch(dumpOnError);
      const [code, out, err] = await Promise.all([cli.exited, new Response(cli.stdout).text(), new Response(cli.stderr).text()]);
      expect({ code, out, err }).toMatchObject({ code: 0 });
      // The holder saw the service dead and unreaped, as PID 1, before the new image consumed the handoff.
      const held = lines(report);
      expect(held.length).toBe(zombiesBefore + 1);
      expect(held.at(-1)).toBe(`zombie pid=${flakyPid} init=1 handoff_unconsumed=yes`);
      // The new image adopted the dead process, then got its exit (code 7) and restarted it by policy.
      await waitFor(() => lines(flaky).length === i / 5 + 1, 30_000, `flaky restarted after re-exec ${i}`).catch(dumpOnError);
      const startedLine = new RegExp(`service started service=flaky pid=${lines(flaky).at(-1)}$`, "m");
      await waitFor(() => startedLine.test(run.log()), 30_000, `the restart of flaky logged after re-exec ${i}`).catch(dumpOnError);
      const since = run.log().slice(run.log().indexOf(marker));
      const at = (re: string) => since.search(new RegExp(re, "m"));
      const order = {
        adopted: at(`service adopted service=flaky pid=${flakyPid}\\b`),
        exited: at("service exited; restarting after back-off service=flaky code=7\\b"),
        restarted: at(`service started service=flaky pid=${lines(flaky).at(-1)}$`),
      };
      if (!(order.adopted >= 0 && order.exited > order.adopted && order.restarted > order.exited)) console.error(since.split("\n").filter((l) => l.includes("flaky")).join("\n"));
      expect(order.adopted).toBeGreaterThanOrEqual(0);
      expect(order.exited).toBeGreaterThan(order.adopted);
      expect(order.restarted).toBeGreaterThan(order.exited);
    } else {
      process.kill(init, "SIGHUP");
      await waitFor(() => run.log().includes(marker), 30_000, `re-exec ${i}`).catch(dumpOnError);
    }
    // Two beats of the new image (its signal handlers are in place by then).
    await waitFor(() => [...run.log().slice(run.log().indexOf(marker)).matchAll(/: beat n=(\d+)/g)].length >= 2, 30_000, `beats after re-exec ${i}`).catch(dumpOnError);
    // Beat numbers never go back.
    const beats = [...run.log().matchAll(/: beat n=(\d+)/g)].map((m) => Number(m[1]));
    for (let k = 1; k < beats.length; k++) expect(beats[k]!).toBeGreaterThan(beats[k - 1]!);
  }
  const after = run.log().match(/service adopted service=(one|two) pid=(\d+)/g)!;
  const pidOf = (lines: string[], name: string) => new Set(lines.filter((l) => l.includes(`service=${name} `)).map((l) => l.split("pid=")[1]));
  expect(pidOf(after, "one")).toEqual(pidOf(before, "one"));
  expect(pidOf(after, "two")).toEqual(pidOf(before, "two"));
  // flaky was stopped inside 4 handoffs and restarted each time, never otherwise.
  expect(lines(flaky).length).toBe(5);
  expect(lines(report).length).toBe(4);
  expect(childrenOf(init).length).toBeGreaterThanOrEqual(3);
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.stderr).toContain("poweroff now");
}, 300_000);
