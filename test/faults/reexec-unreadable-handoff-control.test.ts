// A live re-exec whose handoff the new image cannot read (it boots fresh) left the handed-over control listener open in it, listening unserved: the fresh boot found its socket path "in use by another running instance" and ran without a control socket.
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

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

test("a live re-exec whose handoff file the new image cannot read (cut short) booted fresh with the handed-over listener still open and unserved: its control socket was 'in use by another running instance' and every client hung; the fresh boot serves that listener", async () => {
  const dir = tempDir();
  // Runs in PID 1's place after the old image's exec: cuts the handoff file short, as a write cut short would.
  const cutter = betweenImages(
    dir,
    "cut-handoff.py",
    `p = os.environ["VECTOR_BOOT_HANDOFF"]
data = open(p).read()
open(p, "w").write(data[: len(data) // 2])`,
  );
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), heartbeat_ms: 100, heartbeat_log_every: 0, services: [] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the boot");
  const sock = join(dir, "run/control");
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
  const after = run.log().split("handoff state unreadable")[1]!;
  expect(after).not.toContain("control socket not available");
  expect(await status(sock, 10_000)).toBe(0);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
