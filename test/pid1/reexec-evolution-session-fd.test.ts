// A producer session's fd named by a live re-exec's handoff was adopted unchecked: a number that is something else at the new image's start (a file; the control socket's listener) disabled evolution or was served as a producer. Only a connected socket accepted on the part's path is adopted; another is skipped (its ring freed), the rest adopted.
import { afterEach, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { hello } from "./session-hello.ts";

afterEach(killLeftovers);

/** A producer session kept open: its ring (from the hello) and every byte it read after the hello. */
function openSession(path: string): Promise<{ ring: number; after: () => string; closed: () => boolean; sock: net.Socket }> {
  return new Promise((resolve, reject) => {
    let buf = "";
    let ring = -1;
    let closed = false;
    const sock = net.connect(path);
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (ring >= 0 || nl < 0) return;
      ring = (JSON.parse(buf.slice(0, nl)) as { ring: number }).ring;
      buf = buf.slice(nl + 1);
      resolve({ ring, after: () => buf, closed: () => closed, sock });
    });
    sock.on("error", reject);
    sock.on("close", () => (closed = true));
  });
}

/**
 * Boots as PID 1 (evolution on), opens two producer sessions, live re-execs through a script that
 * runs `body` (Python; `h` the handoff, `s0` the first handed session's fd, `ctl` the control
 * listener's) before the real image. Returns the run, the sessions and the new image's log.
 */
async function reexecThrough(dir: string, body: string) {
  const runDir = join(dir, "run");
  const script = betweenImages(
    dir,
    "between",
    `h = json.load(open(os.environ["VECTOR_BOOT_HANDOFF"]))
ss = sorted(h["parts"]["evolution"]["sessions"], key=lambda s: s["ring"])
s0 = ss[0]["fd"]
ctl = h["parts"]["control"]["listener"]
${body}`,
  );
  const run = start(["boot", "--set", `run_dir=${runDir}`, "--set", `state_dir=${join(dir, "state")}`, "--set", "heartbeat_ms=50", "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const a = await openSession(join(runDir, "evolution.sock"));
  const b = await openSession(join(runDir, "evolution.sock"));
  expect([a.ring, b.ring]).toEqual([0, 1]);
  const r = await runShippedAsync(["reexec", script, "--socket", join(runDir, "control"), "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => /resuming after re-exec generation=1 [^]*control socket listening/.test(run.log()), 30_000, "the new image");
  await waitFor(() => /resuming after re-exec generation=1 [^]*(producer sessions adopted across re-exec|evolution disabled)/.test(run.log()), 30_000, "the evolution phase");
  return { run, init, runDir, a, b, after: () => run.log().split("resuming after re-exec generation=1 ")[1]! };
}

/** What must hold whatever stood at the first session's number: the second session adopted, the first one's ring free again. */
async function secondAdoptedFirstFreed(o: Awaited<ReturnType<typeof reexecThrough>>) {
  expect(o.after()).not.toContain("evolution disabled");
  // The adopted session is rung once after the exec.
  await waitFor(() => o.b.after().includes("!"), 10_000, "the adopted session's bell");
  expect(o.b.closed()).toBe(false);
  // The skipped session's ring was released: a new producer gets it.
  expect(await hello(join(o.runDir, "evolution.sock"))).toEqual({ ring: o.a.ring });
}

test("a handoff whose producer session fd is now a regular file: Bun threw on it (Failed to connect) and PID 1 went on without evolution (base weights); it is skipped with a warning and left open, its ring freed, the other session adopted", async () => {
  const dir = tempDir();
  const o = await reexecThrough(dir, `f = os.open(${JSON.stringify(join(dir, "between"))}, os.O_RDONLY)\nos.dup2(f, s0)`);
  await secondAdoptedFirstFreed(o);
  const m = o.after().match(/producer session handed over at the re-exec not adopted \(its producer reconnects\) ring=0 fd=(\d+) why=".*\(ENOTSOCK\)"/);
  expect(m).not.toBeNull();
  // Not proven to be that session, so not closed: the file is still open at that number.
  expect(readlinkSync(`/proc/${o.init}/fd/${m![1]}`)).toBe(join(dir, "between"));
  process.kill(o.init, "SIGTERM");
  await o.run.result(30_000);
}, 120_000);

/**
 * Ring 0's session fd replaced in the old image by what `substitute(dir)` (Python) puts there: the new
 * image skips it naming `errno`, frees ring 0 (a second producer takes it), and the control socket
 * keeps answering.
 */
async function skippedAndControlAnswers(dir: string, substitute: (dir: string) => string, errno: string): Promise<void> {
  const o = await reexecThrough(dir, substitute(dir));
  await secondAdoptedFirstFreed(o);
  expect(o.after()).toMatch(new RegExp(`producer session handed over at the re-exec not adopted \\(its producer reconnects\\) ring=0 fd=\\d+ why=".*\\(${errno}\\)"`));
  for (let i = 0; i < 5; i++) {
    const s = await runShippedAsync(["status", "--json", "--socket", join(o.runDir, "control")]);
    expect(s.code, s.err).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ generation: 1 });
  }
  process.kill(o.init, "SIGTERM");
  await o.run.result(30_000);
}

test("a handoff whose producer session fd is now the control socket's listener: the new image adopted the listener as ring 0's session and that ring was never freed (a new producer got ring 2); it is skipped, ring 0 freed, and the control socket keeps answering", async () => {
  await skippedAndControlAnswers(tempDir(), () => "os.dup2(ctl, s0)", "EINVAL");
}, 120_000);

test("a handoff whose producer session fd is now another connected Unix socket (a connection to the control socket): the new image adopted it as ring 0's session and that ring was never freed; it is skipped (EADDRNOTAVAIL), ring 0 freed, and the control socket keeps answering", async () => {
  const connect = (dir: string) => `import socket\nc = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\nc.connect(${JSON.stringify(join(dir, "run", "control"))})\nos.dup2(c.fileno(), s0)`;
  await skippedAndControlAnswers(tempDir(), connect, "EADDRNOTAVAIL");
}, 120_000);
