// Signals tini mode forwarded wrongly: SIGPWR never (the JS engine's GC signal when JSC_SIGNAL_FOR_GC is not set, as in a container), queued real-time signals merged into one, the init's own SIGPIPE to CMD.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shippedDir, shippedEnv } from "../harness/artifact.ts";
import { compileC } from "../harness/compile-c.ts";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

/** Counts SIGRTMIN, signal 40 and SIGPWR with sigwaitinfo (each queued delivery), prints at SIGTERM. */
const COUNTER = `#include <signal.h>
#include <stdio.h>
int main(int argc, char **argv) {
  sigset_t s; sigemptyset(&s); sigaddset(&s, SIGRTMIN); sigaddset(&s, 40); sigaddset(&s, SIGPWR); sigaddset(&s, SIGTERM);
  sigprocmask(SIG_BLOCK, &s, 0);
  int rt = 0, s40 = 0, pwr = 0;
  for (;;) {
    /* The counts so far, rewritten after each signal (the test waits for them, not for a time). */
    FILE *f = fopen(argv[1], "w"); fprintf(f, "rtmin=%d s40=%d pwr=%d\\n", rt, s40, pwr); fclose(f);
    int g = sigwaitinfo(&s, 0); if (g == SIGRTMIN) rt++; else if (g == 40) s40++; else if (g == SIGPWR) pwr++; else if (g == SIGTERM) break;
  }
  return 0;
}
`;

function counter(): { exe: string; counts: string } {
  const dir = tempDir();
  return { exe: compileC(dir, "counter", COUNTER), counts: join(dir, "counts") };
}

for (const pid1 of [false, true]) {
  test(`${pid1 ? "as PID 1" : "as a subreaper"}, without JSC_SIGNAL_FOR_GC: SIGPWR reached the JS engine's GC handler and never CMD; five SIGRTMIN and five signal 40 arrived as one each`, async () => {
    const c = counter();
    // JSC_SIGNAL_FOR_GC empty: the engine keeps SIGPWR, as in a container started without the pre-init.
    const run = start(["--", c.exe, c.counts], { pid1, env: { JSC_SIGNAL_FOR_GC: "" } });
    const init = await run.initPid();
    const counts = () => (existsSync(c.counts) ? readFileSync(c.counts, "utf8") : "");
    await waitFor(() => counts() === "rtmin=0 s40=0 pwr=0\n", 10_000, "the counter");
    for (let i = 0; i < 5; i++) {
      process.kill(init, 34); // SIGRTMIN
      process.kill(init, 40);
    }
    process.kill(init, 30); // SIGPWR
    // Before: "rtmin=1 s40=1 pwr=0" for good.
    await waitFor(() => counts() === "rtmin=5 s40=5 pwr=1\n", 10_000, `every signal forwarded (so far: ${counts().trim()})`);
    process.kill(init, "SIGTERM");
    const r = await run.result(10_000);
    expect(r.code).toBe(0);
  }, 30_000);
}

/** A SIG`name` another process sends the init reaches CMD (its trap answers, exit 4). */
async function expectForwardedWhenSent(name: "PIPE" | "XFSZ"): Promise<void> {
  const ready = join(tempDir(), "ready");
  const run = start(["--", "sh", "-c", `trap 'echo got-${name}; exit 4' ${name}; : > "$0"; while :; do sleep 0.05; done`, ready]);
  const init = await run.initPid();
  await waitFor(() => existsSync(ready), 10_000, "CMD's trap");
  process.kill(init, `SIG${name}`);
  const p = await run.result(10_000);
  expect([p.code, p.stdout]).toEqual([4, `got-${name}\n`]);
}

test("the init's own SIGPIPE (its -v log written to a stderr nobody reads any more) was forwarded to CMD and killed it (exit 141); a SIGPIPE another process sends is still forwarded", async () => {
  const exe = join(shippedDir, "vector-boot");
  // bash: the init's stderr is a pipe whose reader (true) is gone by the time CMD exits and -v logs it.
  const r = Bun.spawnSync(["bash", "-c", `"$0" -v -- sh -c 'sleep 0.5; exit 3' 2>&1 | true; exit \${PIPESTATUS[0]}`, exe], { env: shippedEnv(), cwd: shippedDir, timeout: 20_000 });
  expect(r.exitCode).toBe(3);
  await expectForwardedWhenSent("PIPE");
}, 30_000);

test("the init's own SIGXFSZ (its -v log appended to a file already at the size limit, `ulimit -f`) was forwarded to CMD and killed it (exit 153); a SIGXFSZ another process sends is still forwarded", async () => {
  const exe = join(shippedDir, "vector-boot");
  const log = join(tempDir(), "init.log");
  writeFileSync(log, "x".repeat(1024));
  const r = Bun.spawnSync(["bash", "-c", `ulimit -f 1; "$0" -v -- sh -c 'sleep 0.5; exit 3' 2>>"$1"`, exe, log], { env: shippedEnv(), cwd: shippedDir, timeout: 20_000 });
  expect(r.exitCode).toBe(3);
  await expectForwardedWhenSent("XFSZ");
}, 30_000);
