// `vector-boot logs -f` when the instance powers off in order: it waited 30 s for the socket to come back and exited 71.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("logs -f exited 71 about 30 s after an orderly poweroff (it took the closed socket for a re-exec): it ends with exit 0 when the instance shuts down, and still follows through a re-exec", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [{ name: "ticker", argv: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.05; done"] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const sock = join(dir, "run", "control");
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const follower = spawnShipped(["logs", "ticker", "-f", "-n", "1", "--socket", sock]);
  let text = "";
  void (async () => {
    for await (const chunk of follower.stdout) text += new TextDecoder().decode(chunk);
  })();
  const err = new Response(follower.stderr).text();
  await waitFor(() => /tick-\d+/.test(text), 15_000, "the follower's first lines");
  // A re-exec is not the end: the follower goes on with the new image's lines.
  expect((await runShippedAsync(["reexec", "--socket", sock], 30_000)).code).toBe(0);
  const mark = text.length;
  await waitFor(() => (text.slice(mark).match(/tick-\d+/g)?.length ?? 0) >= 5, 15_000, "lines followed after the re-exec");
  expect(follower.exitCode).toBe(null);
  // An orderly poweroff is: the follower ends soon after the instance, with 0.
  expect((await runShippedAsync(["poweroff", "--socket", sock])).code).toBe(0);
  expect((await run.result(30_000)).code).toBe(0);
  const ended = await Promise.race([follower.exited, Bun.sleep(20_000).then(() => "still following 20 s after the instance ended")]);
  follower.kill("SIGKILL");
  expect(ended).toBe(0);
  expect(await err).toContain("the instance is shutting down; no more lines of ticker");
}, 120_000);

test("logs -f missed the lines a service wrote as it stopped at shutdown (the socket closed between two polls): the shutdown lets a follower poll once more", async () => {
  for (let round = 1; round <= 3; round++) {
    const dir = tempDir();
    const script = 'trap "echo bye-1; echo bye-2; exit 0" TERM; echo hello; while :; do sleep 0.05; done';
    const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [{ name: "polite", argv: ["sh", "-c", script] }] });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    const sock = join(dir, "run", "control");
    await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
    const follower = spawnShipped(["logs", "polite", "-f", "-n", "10", "--socket", sock]);
    let text = "";
    void (async () => {
      for await (const chunk of follower.stdout) text += new TextDecoder().decode(chunk);
    })();
    await waitFor(() => text.includes("hello"), 15_000, "the follower's first line");
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(30_000)).code).toBe(0);
    const ended = await Promise.race([follower.exited, Bun.sleep(20_000).then(() => "still following 20 s after the instance ended")]);
    follower.kill("SIGKILL");
    expect({ round, ended }).toEqual({ round, ended: 0 });
    // Its stdout and stderr (sh's "Terminated"), in the order the ring took them.
    expect({ round, lines: text.split("\n").filter((l) => l.startsWith("hello") || l.startsWith("bye")) }).toEqual({ round, lines: ["hello", "bye-1", "bye-2"] });
  }
}, 120_000);
