// Live re-execs that go wrong with a producer streaming: the exec itself fails (the old image carries
// on: the session never notices), or the new image cannot adopt the evolution part (the sessions
// are closed cleanly and the reconnecting client re-sends). Nothing acknowledged is ever lost.
import { afterEach, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { checkJournalAndWeights, startStream } from "./producer-stream.ts";

afterEach(killLeftovers);

function boot(dir: string) {
  return start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=0"], { pid1: true });
}

test("an execve that fails after the evolution handoff leaves the plain producer's session running in the old image: no disconnect, each mutation journaled once", async () => {
  const dir = tempDir();
  // Passes the control socket's path check and its preflight, then makes itself unexecutable:
  // PID 1's execve fails with EACCES after every phase wrote its part.
  // (At its last preflight step, boot --check: the preflight runs it after --version.)
  const bad = betweenImages(dir, "unexecutable", 'sys.exit("never runs")', "", "    os.chmod(__file__, 0o644)");
  const run = boot(dir);
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const s = startStream(init, dir, "plain");
  for (let i = 1; i <= 2; i++) {
    const before = s.acks.length;
    await waitFor(() => s.acks.length >= before + 30, 60_000, `30 acknowledgements before attempt ${i}`);
    chmodSync(bad, 0o755);
    const r = await runShippedAsync(["reexec", bad, "--socket", join(dir, "run/control"), "--timeout", "30000"], 60_000);
    expect(r.code).not.toBe(0);
    expect(run.log().match(/re-exec failed; the running image carries on/g)?.length).toBe(i);
  }
  const before = s.acks.length;
  await waitFor(() => s.acks.length >= before + 30, 60_000, "30 acknowledgements after the failed execs");
  const r = await s.finish();
  expect({ code: r.code, err: r.err, reconnects: r.reconnects }).toEqual({ code: 0, err: "", reconnects: 0 });
  expect(r.after.status).toBe("ACCEPTED");
  expect(run.log()).not.toContain("resuming after re-exec");
  expect(run.log().match(/producer session opened ring=/g)?.length).toBe(2);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).stderr).toContain("checkpoint written");
  checkJournalAndWeights(join(dir, "state"), [...s.acks, r.after], r.n, true);
}, 300_000);

test("a new image that cannot adopt the evolution part closes the inherited sessions: the reconnecting producer re-sends, nothing acknowledged is lost, the stale fds are gone", async () => {
  const dir = tempDir();
  // The next image gets a part it cannot read (version 99), then is the real image.
  const spoil = betweenImages(
    dir,
    "spoil-part",
    `p = os.environ["VECTOR_BOOT_HANDOFF"]
h = json.load(open(p))
h["parts"]["evolution"]["version"] = 99
with open(p, "w") as f:
    json.dump(h, f)`,
  );
  const run = boot(dir);
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const s = startStream(init, dir, "reconnecting");
  const before = s.acks.length;
  await waitFor(() => s.acks.length >= before + 30, 60_000, "30 acknowledgements before the re-exec");
  const cli = await runShippedAsync(["reexec", spoil, "--socket", join(dir, "run/control"), "--timeout", "30000"], 60_000);
  expect(cli.code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "re-exec");
  await waitFor(() => run.log().includes("inherited producer sessions not adopted: closed"), 30_000, "the part refused");
  const after = s.acks.length;
  await waitFor(() => s.acks.length >= after + 30, 60_000, "30 acknowledgements after the re-exec");
  const r = await s.finish();
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  expect(r.reconnects).toBe(1);
  expect(r.after.status).toBe("ACCEPTED");
  // The inherited channel memfd was closed (the new image made its own): one channel memfd open.
  const fds = Bun.spawnSync(["ls", "-l", `/proc/${init}/fd`], { stdout: "pipe" }).stdout.toString();
  expect(fds.match(/memfd:vector-boot-evolution/g)?.length).toBe(1);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).stderr).toContain("checkpoint written");
  checkJournalAndWeights(join(dir, "state"), [...s.acks, r.after], r.n, false);
}, 300_000);
