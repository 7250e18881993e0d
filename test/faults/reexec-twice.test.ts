// Two re-execs asked at once (two operators' `vector-boot reexec`, or one and a SIGHUP): one handover at a time.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1, two re-execs asked together were both answered 're-exec done' (exit 0) though one image ran; the second is refused as not now (75) while the first is under way, and the one new image resumes every phase", async () => {
  const dir = tempDir();
  const go = join(dir, "go");
  const asked = join(dir, "asked.log");
  const images = join(dir, "images.log");
  // Both preflights wait at `boot --check` until the test lets them go together.
  const holder = betweenImages(
    dir,
    "new-image.py",
    `with open(${JSON.stringify(images)}, "a") as f:
    f.write(json.dumps(sorted(json.load(open(os.environ["VECTOR_BOOT_HANDOFF"]))["parts"]), separators=(",", ":")) + "\\n")`,
    "",
    `    open(${JSON.stringify(asked)}, "a").write("x\\n")
    while not os.path.exists(${JSON.stringify(go)}):
        time.sleep(0.01)`,
  );
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 50,
    heartbeat_log_every: 0,
    services: [{ name: "one", argv: ["sleep", "1000"] }, { name: "two", argv: ["sleep", "1000"] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => (run.log().match(/service started/g) ?? []).length >= 2 && run.log().includes("control socket listening"), 30_000, "services started");
  const sock = join(dir, "run/control");
  const ask = () => {
    const p = Bun.spawn(shipped(["reexec", holder, "--socket", sock, "--timeout", "60000"]), { stdout: "pipe", stderr: "pipe" });
    return Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]).then(([code, out, err]) => ({ code, out, err }));
  };
  const count = () => (existsSync(asked) ? readFileSync(asked, "utf8").split("\n").filter(Boolean).length : 0);
  const first = ask();
  await waitFor(() => count() >= 1, 60_000, "the first preflight at its last question");
  let secondDone = false;
  const second = ask().finally(() => (secondDone = true));
  // The second is refused at once, or (the old code) asks the new image too.
  await waitFor(() => secondDone || count() >= 2, 60_000, "the second re-exec refused or at its last question");
  writeFileSync(go, "");
  const answers = await Promise.all([first, second]);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 60_000, "the new image");
  const log = run.log();
  process.kill(init, "SIGTERM");
  const r = await run.result(60_000);
  const parts = readFileSync(images, "utf8").split("\n").filter(Boolean);
  const summary = { answers, parts, log: log.split("\n").filter((l) => /reexec|re-exec|handoff|resum|fail|error|refused/i.test(l)) };
  // One image ran, with every phase's part.
  expect(summary.parts, JSON.stringify(summary, null, 1)).toEqual([JSON.stringify(["control", "evolution", "heartbeat", "services"])]);
  expect(answers.map((a) => a.code).sort(), JSON.stringify(summary, null, 1)).toEqual([0, 75]);
  const refused = answers.find((a) => a.code === 75)!;
  expect(refused.out).toBe("");
  expect(refused.err).toContain("another re-exec is under way");
  expect(log).not.toMatch(/uncaught|unhandled/i);
  expect(r.stdout).toContain('"reason":"SIGTERM"');
}, 180_000);
