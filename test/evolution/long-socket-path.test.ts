// A run_dir deeper than a Unix socket address holds (107 bytes): the evolution socket bound (Bun.listen copes) but the Python client failed with "AF_UNIX path too long".
import { afterEach, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { runAsync } from "../harness/artifact.ts";
import { longDir } from "../harness/long-path.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

/** `python -m vector_boot_evolution --socket SOCKET ARGS` (the shipped client); async, the init runs meanwhile. */
const evolve = (socket: string, args: string[]) => runAsync([python, "-m", "vector_boot_evolution", "--socket", socket, ...args], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 30_000 });

test("the Python evolution client reaches a session socket whose path is over 107 bytes and gets its mutation acknowledged (AF_UNIX path too long)", async () => {
  const dir = tempDir();
  const runDir = join(longDir(dir, 200), "run");
  const socket = join(runDir, "evolution.sock");
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: runDir, state_dir: join(dir, "state"), evolution: { checkpoint_every_s: 0 } });
  const run = start(["boot", "--config", cfg]);
  try {
    await waitFor(() => run.log().includes("phase heartbeat"), 30_000, "the boot to reach its heartbeat");
    expect(statSync(socket).isSocket()).toBe(true);

    const ok = await evolve(socket, ["mutate", "pixel.1.bias", "0", "0.5,-0.25", "--confidence", "0.93"]);
    expect(ok.err).toBe("");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out.trim())).toMatchObject({ status: "ACCEPTED", journal_seq: 1 });

    // A file name too long for even /proc/self/fd/N/<name>: refused naming the path and the limit.
    const tooLong = join(runDir, "e".repeat(100));
    const refused = await evolve(tooLong, ["info"]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain(tooLong);
    expect(refused.err).toContain("107-byte limit");

    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(20_000)).code).toBe(0);
  } catch (e) {
    console.error(run.log().split("\n").slice(-30).join("\n"));
    throw e;
  }
}, 60_000);
