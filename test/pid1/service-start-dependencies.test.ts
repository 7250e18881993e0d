// `vector-boot start NAME` of a service whose depends_on are not running: they are started first and it waits for them, as at boot.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("start of a service whose dependency was not ready (or stopped) spawned it at once, depends_on ignored; now it starts the dependency and waits for it ('waiting for its dependencies (pending)')", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const ready = join(dir, "db.ready");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      // db is ready once the test creates its file.
      { name: "db", argv: ["sh", "-c", "exec sleep 600"], ready: { file: ready, interval_ms: 20 } },
      { name: "api", depends_on: ["db"], argv: ["sh", "-c", "exec sleep 600"] },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("service started service=db"), 30_000, "db starting");
  const ctl = (...args: string[]) => runShippedAsync([...args, "--socket", sock]);
  const state = async (n: string) => (JSON.parse((await ctl("services", "--json")).out) as Array<{ name: string; state: string }>).find((s) => s.name === n)!.state;
  const early = await ctl("start", "api");
  expect(early.code).toBe(0);
  expect(early.out).toBe("api: waiting for its dependencies (pending)\n");
  expect(await state("api")).toBe("pending");
  expect(run.log()).not.toContain("service started service=api");
  writeFileSync(ready, "");
  await waitFor(async () => (await state("api")) === "running", 15_000, "api running once db is ready", { pollMs: 100 });
  expect(run.log().indexOf("service ready service=db")).toBeLessThan(run.log().indexOf("service started service=api"));
  // Both stopped by hand: a start of api starts db first.
  expect((await ctl("stop", "api")).code).toBe(0);
  expect((await ctl("stop", "db")).code).toBe(0);
  const mark = run.log().length;
  expect((await ctl("start", "api")).code).toBe(0);
  // db's new run is ready once its file is made again (the one left from its first run does not count).
  await waitFor(() => run.log().slice(mark).includes("service started service=db"), 15_000, "db started again");
  writeFileSync(ready, "");
  await waitFor(async () => (await state("api")) === "running", 15_000, "api running again", { pollMs: 100 });
  const after = run.log().slice(mark);
  expect(after).toContain("service started service=db");
  expect(after.indexOf("service ready service=db")).toBeGreaterThanOrEqual(0);
  expect(after.indexOf("service ready service=db")).toBeLessThan(after.indexOf("service started service=api"));
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("services stopped order=api,db");
}, 60_000);
