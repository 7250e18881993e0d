// A service's unfinished output line across a live re-exec: its first half is handed over with the pipe, the whole line logged once.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("a service's unfinished output line lost its first half at a live re-exec ('hello ' before it, 'world' after it was logged as 'world'); the whole line is logged once", async () => {
  const dir = tempDir();
  const gate = join(dir, "gate");
  const sock = join(dir, "run", "control");
  // One write of "l1\nhello " (a pipe write under 4 KiB is read whole: once `l1` is logged, `hello ` was read
  // too), then, once the test creates `gate` (bounded), the rest of the line.
  const argv = ["sh", "-c", `exec >&2; printf 'l1\\nhello '; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; printf 'world\\n'; exec sleep 1000`];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("svc: l1") && run.log().includes("control socket listening"), 30_000, "the service's first line");
  expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  writeFileSync(gate, "");
  await waitFor(() => /svc: (hello )?world\n/.test(run.log()), 30_000, "the end of the line");
  // The new image's ring holds what it read (the lines before the re-exec stay with the old one).
  expect((await runShippedAsync(["logs", "svc", "--socket", sock])).out).toBe("hello world\n");
  expect(run.log()).toContain("svc: hello world\n");
  expect(run.log()).not.toContain("svc: world\n");
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("a character cut by a live re-exec (its first byte read by the old image, the rest by the new one) was logged as U+FFFD: 'h' + 0xC3 before it, 0xA9 'llo' after it gave 'h\\uFFFDllo'; it is logged as 'héllo'", async () => {
  const dir = tempDir();
  const gate = join(dir, "gate");
  const sock = join(dir, "run", "control");
  // "é" is C3 A9: one write ends after its first byte, the next (once `gate` exists) begins with its second.
  const argv = ["sh", "-c", `exec >&2; printf 'l1\\nh\\303'; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; printf '\\251llo\\n'; exec sleep 1000`];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("svc: l1") && run.log().includes("control socket listening"), 30_000, "the service's first line");
  expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  writeFileSync(gate, "");
  await waitFor(() => /svc: .*llo\n/.test(run.log()), 30_000, "the end of the line");
  expect((await runShippedAsync(["logs", "svc", "--socket", sock, "--json"])).out.trim().split("\n").map((l) => JSON.parse(l).line)).toEqual(["héllo"]);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
