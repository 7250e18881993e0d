// Service output through pipes PID 1 drains: name-prefixed console lines, `logs NAME -n N`, the Python client, rotated files, a live re-exec.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("service output: prefixed on the console, the last lines by `logs -n`, followed by cursor from Python, a rotated file, and still flowing after a live re-exec", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      // 200 numbered lines on each stream at once, then one line every 50 ms.
      { name: "talker", argv: ["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; while :; do echo tick-$i >&2; i=$((i+1)); sleep 0.05; done"], log_file: { max_bytes: 4096, keep: 2 } },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("talker: err-199") && run.log().includes("control socket listening"), 15_000, "the stderr lines on the console");
  expect(run.log()).toContain("talker: err-0\n");
  const last = await runShippedAsync(["logs", "talker", "-n", "3", "--json", "--socket", sock]);
  expect(last.code).toBe(0);
  const lines = last.out.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; line: string });
  expect(lines.length).toBe(3);
  expect(lines[1]!.seq).toBe(lines[0]!.seq + 1);
  // The Python client reads from a cursor: only lines after it.
  const py = Bun.spawnSync([python, "-c", `import json, sys
from vector_boot_evolution.control import ControlClient
c = ControlClient(${JSON.stringify(sock)})
a = c.logs("talker", limit=1)
b = c.logs("talker", after=a["next"] - 1)
print(json.dumps([a["next"], [l["seq"] for l in b["lines"]][:1]]))`], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe" });
  expect(py.stderr.toString()).toBe("");
  const [next, firstAfter] = JSON.parse(py.stdout.toString()) as [number, number[]];
  expect(firstAfter).toEqual([next]);
  expect(existsSync(join(dir, "state", "logs", "talker.log.1"))).toBe(true);
  expect(readFileSync(join(dir, "state", "logs", "talker.log.1"), "utf8")).toMatch(/^\S+Z (out|err)-\d+$/m);
  // A live re-exec keeps the pipes: the service is not killed by SIGPIPE and its lines keep coming.
  const pid = JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out)[0].pid as number;
  const re = await runShippedAsync(["reexec", "--socket", sock]);
  expect(re.code).toBe(0);
  const mark = run.log().length;
  await waitFor(() => /talker: tick-\d+/.test(run.log().slice(mark)), 10_000, "ticks after the re-exec");
  const after = JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out)[0] as { pid: number; restarts: number };
  expect([after.pid, after.restarts]).toEqual([pid, 0]);
  const tail = await runShippedAsync(["logs", "talker", "-n", "1", "--socket", sock]);
  expect(tail.out).toMatch(/^tick-\d+\n$/);
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(15_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("talker: out-199\n");
}, 60_000);

test("one chatty service among 100 quiet ones made PID 1 read all 200 pipes every 20 ms (10,000 reads a second); it reads only the pipes with data", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const n = 100;
  const quiet = Array.from({ length: n }, (_, i) => ({ name: `q${i}`, argv: ["sleep", "1000"] }));
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    heartbeat_ms: 1000,
    heartbeat_log_every: 0,
    services: [...quiet, { name: "chatty", argv: ["sh", "-c", "while :; do echo chat >&2; sleep 0.01; done"] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  await waitFor(async () => (JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out) as { services: { running: number } }).services.running === n + 1, 30_000, "every service running", { pollMs: 200 });
  // Read syscalls of the init's main thread (its tid is its pid) over two seconds of chatter, no request.
  const mainReads = () => Number(/^syscr: (\d+)$/m.exec(readFileSync(`/proc/${init}/task/${init}/io`, "utf8"))![1]);
  const chats = () => run.log().split("chatty: chat\n").length - 1;
  const [r0, c0] = [mainReads(), chats()];
  await Bun.sleep(2000);
  const [reads, lines] = [mainReads() - r0, chats() - c0];
  expect(lines).toBeGreaterThan(20); // it did chatter, and PID 1 took its lines
  // About two reads per poll of the chatty pipe (the data, then EAGAIN) at 50 polls a second, plus
  // the rest of the init; reading every pipe was 200 per poll.
  expect(reads).toBeLessThan(1000);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 90_000);

test("stdout and stderr shared one unterminated-line buffer: a stderr line was glued to a stdout prompt ('progress: 10%...warning: disk slow'); and a line was cut at 131072 characters, not the 64 KiB stated", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "mix", restart: "never", argv: ["sh", "-c", "printf 'progress: 10%%...'; sleep 0.3; echo 'warning: disk slow' >&2; sleep 0.3; echo ' done'; sleep 0.3; head -c 140000 /dev/zero | tr '\\\\0' x; echo; sleep 60"] },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const lines = async () => (await runShippedAsync(["logs", "mix", "-n", "10", "--json", "--socket", sock])).out.trim().split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { line: string }).line);
  await waitFor(async () => (await lines()).length >= 5, 15_000, "the lines of mix");
  const got = await lines();
  expect(got.slice(0, 2)).toEqual(["warning: disk slow", "progress: 10%... done"]);
  expect(got.slice(2).map((l) => l.length)).toEqual([65536, 65536, 140000 - 2 * 65536]);
  expect(run.log()).toContain("mix: warning: disk slow\n");
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(15_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("mix: progress: 10%... done\n");
}, 60_000);
