// A failed evolution open after a live re-exec closed whatever socket the evolution part's listener number named: when that number was the control socket's handed listener (which the session server would have refused and left alone), the control socket lost the connections queued during the exec. Only the evolution listener proven as such is closed.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

test("a failed evolution open after a live re-exec whose part names the control socket's listener closed that listener: a ping queued at the control socket during the exec was dropped; now the listener is adopted and the ping answered", async () => {
  const dir = tempDir();
  const runDir = join(dir, "run");
  const state = join(dir, "state");
  const answer = join(dir, "answer");
  const sock = join(runDir, "control");
  // Between the images: the evolution part names the control listener's number (as in
  // reexec-evolution-listener-fd.test.ts, a number that is something else at the new image's start);
  // the state directory's lock the old image kept across the exec (handoff 12) is let go here and a
  // child takes it, so the new image's evolution open fails; another
  // child queues a ping at the control socket before the new image runs and writes what it reads.
  const script = betweenImages(
    dir,
    "between",
    `import fcntl, socket
h = json.load(open(os.environ["VECTOR_BOOT_HANDOFF"]))
evo = h["parts"]["evolution"]["listener"]
ctl = h["parts"]["control"]["listener"]
h["parts"]["evolution"]["listener"] = ctl
with open(os.environ["VECTOR_BOOT_HANDOFF"], "w") as f:
    json.dump(h, f)
os.close(evo)
held = h["parts"]["evolution"]["stateLock"]
for n in (held["file"], held["dir"]):
    if n is not None: os.close(n)
r, w = os.pipe()
if os.fork() == 0:
    lk = os.open(${JSON.stringify(join(state, "LOCK"))}, os.O_RDWR)
    fcntl.flock(lk, fcntl.LOCK_EX)
    os.write(w, b"l")
    for n in range(3, 1024):
        if n != lk:
            try: os.close(n)
            except OSError: pass
    time.sleep(600)
    os._exit(0)
os.read(r, 1)
if os.fork() == 0:
    for n in range(3, 1024):
        if n != w:
            try: os.close(n)
            except OSError: pass
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(${JSON.stringify(sock)})
    s.sendall(b'{"id":1,"op":"ping"}\\n')
    os.write(w, b"c")
    try: got = s.makefile("rb").readline().decode() or "end of stream"
    except OSError as e: got = "error " + type(e).__name__
    with open(${JSON.stringify(answer)} + ".tmp", "w") as f: f.write(got)
    os.rename(${JSON.stringify(answer)} + ".tmp", ${JSON.stringify(answer)})
    os._exit(0)
os.read(r, 1)`,
  );
  const run = start(["boot", "--set", `run_dir=${runDir}`, "--set", `state_dir=${state}`, "--set", "heartbeat_ms=50", "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const r = await runShippedAsync(["reexec", script, "--socket", sock, "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => /resuming after re-exec generation=1 [^]*control socket/.test(run.log()), 30_000, "the new image");
  const after = run.log().split("resuming after re-exec generation=1 ")[1]!;
  expect(after).toContain("evolution disabled: the evolution phase failed");
  await waitFor(() => existsSync(answer), 30_000, "the queued ping's answer");
  // Old code: "error ConnectionResetError" (the listener closed with the ping in its backlog), the control socket bound anew (EBADF).
  expect(readFileSync(answer, "utf8")).toContain('"ok":true');
  expect(after).not.toContain("control socket handed over at the re-exec not adopted");
  const s = await runShippedAsync(["status", "--json", "--socket", sock]);
  expect(s.code, s.err).toBe(0);
  expect(JSON.parse(s.out)).toMatchObject({ generation: 1 });
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
