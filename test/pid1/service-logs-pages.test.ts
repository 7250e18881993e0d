// `vector-boot logs` of a ring whose lines, as JSON, are more than the control socket lets wait for a peer (1 MiB).
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("logs -n 100000 of a service that wrote 40,000 short lines (2 MB as JSON) ended in ECONNRESET (exit 71) and logs -f stalled after the burst: now both print every line, in order", async () => {
  const dir = tempDir();
  const go = join(dir, "go");
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    // 40,000 lines of 1-5 digits fit the 1 MiB ring; each is ~50 bytes of JSON in a reply.
    services: [{ name: "burst", log_console: false, argv: ["sh", "-c", 'echo waiting; while [ ! -e "$0" ]; do sleep 0.05; done; seq 1 40000; echo burst-done; exec sleep 600', go] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  await waitFor(async () => (await runShippedAsync(["logs", "burst", "-n", "1", "--socket", sock])).out === "waiting\n", 15_000, "the service's first line", { pollMs: 100 });
  const follower = spawnShipped(["logs", "burst", "-f", "-n", "1", "--socket", sock]);
  let followed = "";
  let followErr = "";
  void (async () => {
    for await (const chunk of follower.stdout) followed += new TextDecoder().decode(chunk);
  })();
  void (async () => {
    for await (const chunk of follower.stderr) followErr += new TextDecoder().decode(chunk);
  })();
  // The follower has its cursor once it printed the newest line; then the burst.
  await waitFor(() => followed === "waiting\n", 15_000, "the follower's first line");
  writeFileSync(go, "");
  const numbers = Array.from({ length: 40000 }, (_, i) => String(i + 1));
  const all = await (async () => {
    let r = { code: -1, out: "", err: "" };
    await waitFor(async () => (r = await runShippedAsync(["logs", "burst", "-n", "100000", "--socket", sock], 30_000)).code !== 0 || r.out.endsWith("burst-done\n"), 30_000, "the burst in the ring", { pollMs: 200 });
    return r;
  })();
  expect(all.err).toBe("");
  expect(all.code).toBe(0);
  expect(all.out).toBe(["waiting", ...numbers, "burst-done"].join("\n") + "\n");
  await waitFor(() => followed.endsWith("burst-done\n") || follower.exitCode !== null, 30_000, "the follower to print the burst");
  expect(followErr).toBe("");
  expect(followed).toBe(["waiting", ...numbers, "burst-done"].join("\n") + "\n");
  follower.kill();
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 120_000);
