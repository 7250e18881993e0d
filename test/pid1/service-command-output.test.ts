// The output of a service's commands (pre_start, post_stop, exec probes) is the service's: its ring (`logs`), its log file, its prefix on the console.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { read } from "./file-text.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

test("a failing pre_start's reason (its stderr) went to the init's console unprefixed and was in neither `logs NAME` nor the log file; post_stop and exec probe output too: all of it is the service's", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const { run } = bootServices(
    dir,
    [
      { name: "app", argv: ["sleep", "1000"], restart: "never", log_file: {}, pre_start: { argv: ["sh", "-c", "echo 'app-pre: /etc/app.conf is missing' >&2; exit 3"] } },
      {
        name: "web",
        argv: ["sleep", "1000"],
        health: { probe: { exec: ["sh", "-c", "echo web-probe-ran"] }, interval_ms: 50 },
        post_stop: { argv: ["sh", "-c", "echo web-post-ran"] },
      },
    ],
    {},
    { pid1: true },
  );
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("service could not start service=app"), 30_000, "app's failed start");
  const logs = async (name: string) => {
    const r = await runShippedAsync(["logs", name, "-n", "100", "--json", "--socket", sock]);
    expect(r.code).toBe(0);
    return r.out.trim().split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { line: string }).line);
  };
  await waitFor(async () => (await logs("app")).includes("app-pre: /etc/app.conf is missing"), 10_000, "pre_start's line in `logs app`", { pollMs: 100 });
  expect(read(join(dir, "state", "logs", "app.log"))).toMatch(/^\S+Z app-pre: \/etc\/app\.conf is missing$/m);
  // On the console with the service's prefix, never bare.
  expect(run.log()).toContain("app: app-pre: /etc/app.conf is missing\n");
  expect(run.log()).not.toMatch(/^app-pre:/m);
  await waitFor(async () => (await logs("web")).includes("web-probe-ran"), 10_000, "the probe's line in `logs web`", { pollMs: 100 });
  expect((await runShippedAsync(["stop", "web", "--socket", sock])).code).toBe(0);
  await waitFor(async () => (await logs("web")).includes("web-post-ran"), 10_000, "post_stop's line in `logs web`", { pollMs: 100 });
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130); // power-off of a PID namespace: its init ends by SIGINT
}, 60_000);
