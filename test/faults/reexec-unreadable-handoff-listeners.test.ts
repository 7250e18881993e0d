// A live re-exec whose handoff the new image cannot read (it boots fresh) left the handed-over control and evolution listeners open in it, listening unserved: the fresh boot found their socket paths "in use by another running instance" and ran without a control socket and without evolution.
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { hello } from "../pid1/session-hello.ts";

afterEach(killLeftovers);

/** One `status` on the control socket at `path`: the generation it answers, else the error code, or "no answer" after `ms`. */
function status(path: string, ms: number): Promise<number | string> {
  return new Promise((resolve) => {
    let buf = "";
    const sock = net.connect(path, () => sock.write(`${JSON.stringify({ id: 1, op: "status" })}\n`));
    const timer = setTimeout(() => {
      sock.destroy();
      resolve("no answer");
    }, ms);
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      const r = JSON.parse(buf.slice(0, nl)) as { ok: boolean; result?: { generation?: number }; error?: { code: string } };
      resolve(r.ok ? (r.result?.generation ?? -1) : (r.error?.code ?? "?"));
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

/**
 * Boots as PID 1 (evolution on) and live re-execs through a script that cuts the handoff file short
 * before the real image runs, as a write cut short would; returns the run, the init's pid, the
 * control socket's path, the run dir and the new image's log (from its "handoff state unreadable").
 */
async function reexecWithCutHandoff() {
  const dir = tempDir();
  const cutter = betweenImages(
    dir,
    "cut-handoff.py",
    `p = os.environ["VECTOR_BOOT_HANDOFF"]
data = open(p).read()
open(p, "w").write(data[: len(data) // 2])`,
  );
  const runDir = join(dir, "run");
  const cfg = writeJson(dir, "config.json", { run_dir: runDir, heartbeat_ms: 100, heartbeat_log_every: 0, services: [] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("phase evolution"), 30_000, "the boot");
  const sock = join(runDir, "control");
  expect(await status(sock, 10_000)).toBe(0);
  const init = await run.initPid();
  // The exec drops this connection; its answer does not matter.
  void new Promise<void>((resolve) => {
    const c = net.connect(sock, () => c.write(`${JSON.stringify({ id: 1, op: "reexec", path: cutter })}\n`));
    c.on("error", () => resolve());
    c.on("close", () => resolve());
  });
  await waitFor(() => run.log().includes("handoff state unreadable"), 60_000, "the new image booting fresh");
  await waitFor(() => /control socket (listening|not available)/.test(run.log().split("handoff state unreadable")[1]!), 30_000, "the fresh boot's control socket");
  return { run, init, sock, runDir, after: () => run.log().split("handoff state unreadable")[1]! };
}

test("a live re-exec whose handoff file the new image cannot read (cut short) booted fresh with the handed-over listener still open and unserved: its control socket was 'in use by another running instance' and every client hung; the fresh boot serves that listener", async () => {
  const { run, init, sock, after } = await reexecWithCutHandoff();
  expect(after()).not.toContain("control socket not available");
  expect(await status(sock, 10_000)).toBe(0);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("the same fresh boot found evolution.sock 'in use by another running instance' (the evolution listener handed over and left unserved) and ran without evolution; it serves that listener, and a producer gets a ring", async () => {
  const { run, init, runDir, after } = await reexecWithCutHandoff();
  await waitFor(() => /phase evolution|evolution disabled/.test(after()), 30_000, "the fresh boot's evolution phase");
  expect(after()).not.toContain("evolution disabled");
  // The state dir's lock the old image kept across the exec (handoff 12) is its own, not another process's: adopted.
  expect(after()).toContain("state directory lock: held by descriptors the previous image handed over without a handoff this image could read; adopted");
  expect(await hello(join(runDir, "evolution.sock"))).toMatchObject({ ring: expect.any(Number) });
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
