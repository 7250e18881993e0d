// A client that connected while a live re-exec was under way (the old image gone, the new one not listening yet) was refused (ECONNREFUSED, or ENOENT): `start NAME` exited 71 at once. The listener is handed over; the new image serves it.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { openAs } from "../harness/open-files.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

type Answer = { generation: number } | { error: string };

/**
 * One connection to the control socket at `path` that sends `req` and resolves with the first
 * answer's generation (a `status`), or the error code: the connect's (ECONNREFUSED, ENOENT) or the
 * connection's, closed unanswered (ECONNRESET). `connected` runs once the connect got through.
 */
function ask(path: string, req: object, connected: () => void = () => {}): Promise<Answer> {
  return new Promise((resolve) => {
    let buf = "";
    const sock = net.connect(path, () => {
      connected();
      sock.write(`${JSON.stringify({ id: 1, ...req })}\n`);
    });
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const r = JSON.parse(buf.slice(0, nl)) as { ok: boolean; result?: { generation?: number }; error?: { code: string } };
      sock.destroy();
      resolve(r.ok ? { generation: r.result?.generation ?? -1 } : { error: r.error?.code ?? "?" });
    });
    sock.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    sock.on("close", () => resolve({ error: "ECONNRESET" }));
  });
}

/** Connections the kernel holds for the listener bound at `path`, queued or accepted (/proc/net/unix: the sockets bound to it that do not listen). */
function connectionsAt(path: string): number {
  const lines = readFileSync("/proc/net/unix", "utf8").split("\n").slice(1);
  return lines.filter((l) => {
    const f = l.trim().split(/\s+/);
    return f[7] === path && (Number.parseInt(f[3] ?? "0", 16) & 0x10000) === 0;
  }).length;
}

/** The listening socket at `path` as open in process `pid`: its fd and whether it is close-on-exec (/proc/net/unix, /proc/PID/fdinfo). */
function listenerIn(pid: number, path: string): { fd: number; cloexec: boolean } | null {
  const line = readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[7] === path && (Number.parseInt(f[3] ?? "0", 16) & 0x10000) !== 0);
  if (!line) return null;
  const n = openAs(pid, `socket:[${line[6]}]`);
  if (n !== null) {
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${n}`, "utf8"))![1]!;
    return { fd: Number(n), cloexec: (Number.parseInt(flags, 8) & 0o2000000) !== 0 };
  }
  return null;
}

/** Boots as PID 1 with one service (`sleep`), stopped once up; the control socket path and the run. */
async function bootWithStoppedService(dir: string) {
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [{ name: "svc", argv: ["sleep", "1000"], restart: "never" }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("service started") && run.log().includes("control socket listening"), 30_000, "the boot");
  const sock = join(dir, "run/control");
  expect((await runShippedAsync(["stop", "svc", "--socket", sock])).code).toBe(0);
  return { run, sock };
}

test("a `status` and a `vector-boot start NAME` connecting while the live re-exec is between images were refused (ECONNREFUSED or ENOENT; start exited 71 at once); they wait in the handed-over listener's backlog and the new image answers both (generation 1; start exits 0)", async () => {
  const dir = tempDir();
  const between = join(dir, "between");
  const gate = join(dir, "gate");
  // Runs in PID 1's place after the old image's exec: the old image is gone, the new one not started.
  const holder = betweenImages(
    dir,
    "between-images.py",
    `open(${JSON.stringify(between)}, "w").close()
for _ in range(6000):
    if os.path.exists(${JSON.stringify(gate)}): break
    time.sleep(0.01)`,
  );
  const { run, sock } = await bootWithStoppedService(dir);
  const init = await run.initPid();
  // Asked on a connection of its own, which the exec drops: no other connection is open meanwhile.
  const reexec = ask(sock, { op: "reexec", path: holder });
  await waitFor(() => existsSync(between), 60_000, "the re-exec between the two images");

  let statusConnected = false;
  let statusDone = false;
  const status = ask(sock, { op: "status" }, () => (statusConnected = true)).finally(() => (statusDone = true));
  await waitFor(() => statusConnected || statusDone, 30_000, "the status connection, or its refusal");
  let startDone = false;
  const started = runShippedAsync(["start", "svc", "--socket", sock, "--timeout", "60000"], 90_000).finally(() => (startDone = true));
  // Both wait in the backlog now (the old code: both refused at once, `start` exited 71).
  await waitFor(() => startDone || connectionsAt(sock) >= 2, 30_000, "`start` connected, or refused");
  writeFileSync(gate, "");

  const answers = { status: await status, start: await started };
  expect(answers.status, JSON.stringify(answers)).toEqual({ generation: 1 });
  expect({ code: answers.start.code, err: answers.start.err }, JSON.stringify(answers)).toEqual({ code: 0, err: "" });
  expect(answers.start.out).toMatch(/^svc: started \(running, pid \d+\)\n$/);
  expect(await reexec).toEqual({ error: "ECONNRESET" });
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the new image");
  const after = run.log().split("resuming after re-exec generation=1 ")[1]!;
  expect(after).toMatch(/control socket listening path=\S+ .*from="previous image"/);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

/** Answers in order, each run of equal ones counted: "gen0×812 ECONNRESET×1 gen1×20". */
function runs(answers: Answer[]): string {
  const out: Array<[string, number]> = [];
  for (const a of answers) {
    const k = "generation" in a ? `gen${a.generation}` : a.error;
    const last = out[out.length - 1];
    if (last && last[0] === k) last[1]++;
    else out.push([k, 1]);
  }
  return out.map(([k, n]) => `${k}×${n}`).join(" ");
}

test("connections made one after another, without a gap, all through a live re-exec met ECONNREFUSED or ENOENT while the new image started; each is answered now, by the old image then by the new one (only the one the old image had taken when it exec'd may be dropped unanswered)", async () => {
  const dir = tempDir();
  const { run, sock } = await bootWithStoppedService(dir);
  const init = await run.initPid();
  const reexec = runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 90_000);
  const seen: Answer[] = [];
  const newImage = () => seen.filter((a) => "generation" in a && a.generation === 1).length;
  // Bounded: until the new image has answered 20 of them, or a minute.
  const deadline = performance.now() + 60_000;
  while (newImage() < 20 && performance.now() < deadline) seen.push(await ask(sock, { op: "status" }));
  const r = await reexec;
  expect(r.code, r.err).toBe(0);
  expect(runs(seen)).toMatch(/^gen0×\d+ (ECONNRESET×1 )?gen1×20$/);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("a live re-exec whose execve fails after every part was written leaves the listener close-on-exec again (it was made inheritable for that exec only): the running image answers on it, and a service started afterwards does not hold it", async () => {
  const dir = tempDir();
  // Passes the preflight, then makes itself unexecutable at its last question: PID 1's execve fails (EACCES).
  const bad = betweenImages(dir, "unexecutable", 'sys.exit("never runs")', "", "    os.chmod(__file__, 0o644)");
  const { run, sock } = await bootWithStoppedService(dir);
  const init = await run.initPid();
  chmodSync(bad, 0o755);
  const r = await runShippedAsync(["reexec", bad, "--socket", sock, "--timeout", "30000"], 60_000);
  expect(r.code).not.toBe(0);
  expect(run.log()).toContain("re-exec failed; the running image carries on");
  expect(await ask(sock, { op: "status" })).toEqual({ generation: 0 });
  expect(listenerIn(init, sock)).toMatchObject({ cloexec: true });
  const started = await runShippedAsync(["start", "svc", "--socket", sock]);
  expect(started.code, started.err).toBe(0);
  const children = readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).map(Number);
  const svc = children.find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8") === "sleep\u00001000\u0000");
  expect(svc).toBeGreaterThan(0);
  expect(listenerIn(svc!, sock)).toBeNull();
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
