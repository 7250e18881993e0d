// `logs -f` across a live re-exec: the lines the new image read before the follower asked again are printed, none skipped.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("`logs -f` across a live re-exec silently skipped the new image's first lines (as many as it had read before the re-exec: its cursor was taken in the new numbering); every line is printed once", async () => {
  const dir = tempDir();
  const gate = join(dir, "gate");
  const sock = join(dir, "run", "control");
  // Three lines, then (once the test creates `gate`, bounded) a burst of ten, then quiet.
  const argv = ["sh", "-c", `exec >&2; echo l1; echo l2; echo l3; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; for n in 1 2 3 4 5 6 7 8 9 10; do echo b$n; done; exec sleep 1000`];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("svc: l3") && run.log().includes("control socket listening"), 30_000, "the service's first lines");
  const follower = spawnShipped(["logs", "svc", "-f", "--socket", sock]);
  let out = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of follower.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
  })();
  await waitFor(() => out.includes("l3\n"), 30_000, "the follower's first lines");
  // The follower is held (a loaded machine, a chatty service) while the new image reads the burst.
  process.kill(follower.pid, "SIGSTOP");
  try {
    expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
    await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
    writeFileSync(gate, "");
    await waitFor(async () => (await runShippedAsync(["logs", "svc", "-n", "1", "--socket", sock])).out === "b10\n", 30_000, "the burst in the new image");
  } finally {
    process.kill(follower.pid, "SIGCONT");
  }
  await waitFor(() => out.includes("b10\n"), 30_000, "the burst at the follower");
  expect(out).toBe(["l1", "l2", "l3", ...Array.from({ length: 10 }, (_, i) => `b${i + 1}`)].join("\n") + "\n");
  follower.kill();
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("lines the old image read after a follower's last poll were lost at a live re-exec (they were in its ring only) and `logs -f` said they had been dropped: the ring's last lines are handed over, and the follower prints them", async () => {
  const dir = tempDir();
  const gate = join(dir, "gate");
  const sock = join(dir, "run", "control");
  // Three lines, then (once the test creates `gate`, bounded) a burst of ten the old image reads, then quiet.
  const argv = ["sh", "-c", `exec >&2; echo l1; echo l2; echo l3; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; for n in 1 2 3 4 5 6 7 8 9 10; do echo p$n; done; exec sleep 1000`];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("svc: l3") && run.log().includes("control socket listening"), 30_000, "the service's first lines");
  const follower = spawnShipped(["logs", "svc", "-f", "--socket", sock]);
  let out = "";
  let err = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of follower.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
  })();
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of follower.stderr as ReadableStream<Uint8Array>) err += dec.decode(chunk, { stream: true });
  })();
  await waitFor(() => out.includes("l3\n"), 30_000, "the follower's first lines");
  process.kill(follower.pid, "SIGSTOP");
  try {
    writeFileSync(gate, "");
    await waitFor(async () => (await runShippedAsync(["logs", "svc", "-n", "1", "--socket", sock])).out === "p10\n", 30_000, "the burst in the old image");
    expect((await runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000)).code).toBe(0);
    await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  } finally {
    process.kill(follower.pid, "SIGCONT");
  }
  await waitFor(() => out.includes("p10\n") || err.includes("dropped"), 30_000, "the burst at the follower", { explain: () => `out=${out} err=${err}` });
  expect({ out, err }).toEqual({ out: ["l1", "l2", "l3", ...Array.from({ length: 10 }, (_, i) => `p${i + 1}`)].join("\n") + "\n", err: "" });
  follower.kill();
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
