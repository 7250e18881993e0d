// What the operator commands print from a running instance: a service's escape sequences reached the terminal, lost log lines went unsaid, a wrong socket read as a bug.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShipped, runShippedAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

const notifyPy = `import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\\nSTATUS=\\x1b[2J\\x1b]0;pwned\\x07 done", os.environ["NOTIFY_SOCKET"])
time.sleep(1000)
`;

test("a service's escape sequences (its sd_notify STATUS, its output) reached the operator's terminal through services and logs; a flooded log ring lost lines silently under logs -f; the evolution socket given as --socket was 'unreadable response' (70)", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "notif", argv: [python, "-c", notifyPy], ready: { notify: true, timeout_ms: 30_000 } },
      { name: "painter", argv: ["sh", "-c", "printf 'a\\tb \\033[2J\\033]0;pwned\\007evil\\n'; exec sleep 1000"] },
      { name: "flood", argv: ["sh", "-c", "exec yes 'a line of the flood, long enough to fill the ring quickly ........................'"] },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  await waitFor(() => JSON.parse(runShipped(["services", "--json", "--socket", sock]).stdout).find((s: { name: string; ready: boolean }) => s.name === "notif")?.ready === true, 30_000, "notif ready");
  const services = runShipped(["services", "--socket", sock]);
  expect(services.code).toBe(0);
  expect(services.stdout).not.toContain("\x1b");
  expect(services.stdout).not.toContain("\x07");
  expect(services.stdout).toContain("?[2J?]0;pwned? done");
  await waitFor(() => runShipped(["logs", "painter", "--socket", sock]).stdout.includes("evil"), 30_000, "painter's line");
  const logs = runShipped(["logs", "painter", "--socket", sock]);
  expect(logs.stdout).toBe("a\tb ?[2J?]0;pwned?evil\n");
  // --json keeps the line as it was (JSON escapes it).
  expect(JSON.parse(runShipped(["logs", "painter", "--json", "--socket", sock]).stdout.trim()).line).toBe("a\tb \x1b[2J\x1b]0;pwned\x07evil");

  // The ring keeps about 1 MiB per service: the flood overruns it between two polls of logs -f.
  const follow = await runShippedAsync(["logs", "flood", "-f", "-n", "0", "--socket", sock], 3_000);
  expect(follow.err).toMatch(/logs: \d+ line\(s\) of flood were dropped from the instance's buffer before they could be read/);
  expect(runShipped(["stop", "flood", "--socket", sock]).code).toBe(0);

  const wrong = runShipped(["status", "--socket", join(dir, "run", "evolution.sock")]);
  expect(wrong.code).toBe(71);
  expect(wrong.stderr).toContain("is not a control socket");

  // `help COMMAND` is the command's help; the control commands name 75 (not now).
  const h = runShipped(["help", "restart"]);
  expect(h.code).toBe(0);
  expect(h.stdout).toStartWith("Usage: vector-boot restart NAME");
  expect(h.stdout).toContain("75 when");
  expect(runShipped(["--help"]).stdout).toContain("75 not now");
}, 120_000);
