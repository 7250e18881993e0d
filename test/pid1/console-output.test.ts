// The boot's console (its stdout/stderr): a reader that goes away, a non-blocking console that fills up.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { runAsync, shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, tempDir, writeJson } from "./harness.ts";

afterEach(killLeftovers);

/** Python for the drivers: the boot dies with the driver (PR_SET_PDEATHSIG survives its execs) and is killed at the driver's exit, whatever went wrong. */
const guard = `import atexit, ctypes
def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)
`;
const killOnExit = "atexit.register(lambda: p.poll() is None and p.kill())\n";

/** Runs a Python driver (argv of the boot in sys.argv[1:]); its last stdout line is JSON. */
async function drive(script: string, argv: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const { code, out, err } = await runAsync([python, "-c", script, ...argv], { cwd: shippedDir, env: shippedEnv(env), timeoutMs });
  if (code !== 0) throw new Error(`driver exit ${code}\n${err}\n${out}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test("a development boot whose stdout reader went away keeps running and, on SIGTERM, stops its service in order (it used to exit 0 at once)", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "talker", argv: ["sh", "-c", "while :; do echo out-line; sleep 0.02; done"] }],
  });
  // stdout: a pipe nobody reads any more (EPIPE on every write); stderr: read here.
  const script = `
import json, os, signal, subprocess, sys, time
${guard}r, w = os.pipe()
os.close(r)
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
${killOnExit}os.close(w)
log = b""
def read_until(needle, limit):
    global log
    end = time.monotonic() + limit
    os.set_blocking(p.stderr.fileno(), False)
    while needle not in log and time.monotonic() < end and p.poll() is None:
        try:
            chunk = os.read(p.stderr.fileno(), 65536)
            if chunk: log += chunk
            else: time.sleep(0.01)
        except BlockingIOError:
            time.sleep(0.01)
    return needle in log
started = read_until(b'service started', 20)
# 25 lines written to the dead pipe by now (one every 20 ms), and still alive:
time.sleep(0.5)
alive = p.poll() is None
if alive: p.send_signal(signal.SIGTERM)
try:
    code = p.wait(20)
except subprocess.TimeoutExpired:
    p.kill(); code = p.wait()
rest = p.stderr.read()
log += rest or b""
print(json.dumps({"started": started, "alive": alive, "code": code, "log": log.decode(errors="replace")}))
`;
  const r = await drive(script, shipped(["boot", ...bootArgs(), "--config", cfg, "--set", "heartbeat_log_every=0"]), 60_000);
  expect(r.started).toBe(true);
  expect(r.alive).toBe(true);
  expect(r.code).toBe(0);
  expect(r.log as string).toMatch(/service stopped service=talker /);
  expect(r.log as string).toContain("shutdown complete status=0");
}, 90_000);

for (const nonBlocking of [true, false]) {
test(`a ${nonBlocking ? "non-blocking" : "blocking"} console that fills up while nobody reads stops neither the heartbeat nor the control socket, and gets every line whole and in order once read (none torn or dropped)`, async () => {
  const dir = tempDir();
  const lines = 3000;
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    // ~100-byte numbered lines on stderr, far more than a pipe holds (64 KiB).
    services: [{ name: "talker", argv: ["sh", "-c", `i=0; while [ $i -lt ${lines} ]; do echo "line-$i $(printf '%090d' $i)" >&2; i=$((i+1)); done; exec sleep 600`] }],
  });
  // The init's stderr is a pipe (its open file O_NONBLOCK, as when a service or a shell set it on a
  // shared console, or a plain blocking one); nobody reads it until it is full. Meanwhile the init
  // must go on: two status requests over the control socket, the second with more beats.
  const status = shipped(["status", "--json", "--socket", join(dir, "run", "control")]);
  const script = `
import fcntl, json, os, signal, subprocess, sys, time, array, termios
${guard}r, w = os.pipe()
if ${nonBlocking ? "True" : "False"}:
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w, preexec_fn=die_with_parent)
${killOnExit}os.close(w)
def queued():
    buf = array.array('i', [0])
    fcntl.ioctl(r, termios.FIONREAD, buf)
    return buf[0]
# Full: more than half a pipe (64 KiB) queued and nothing more taken for 0.5 s.
end = time.monotonic() + 30
last, since = -1, time.monotonic()
while time.monotonic() < end and p.poll() is None:
    n = queued()
    if n != last: last, since = n, time.monotonic()
    elif n > 32768 and time.monotonic() - since > 0.5: break
    time.sleep(0.01)
full = queued()
def beats():
    s = subprocess.run(json.loads(os.environ["VB_STATUS_ARGV"]), capture_output=True, timeout=15)
    return json.loads(s.stdout)["heartbeat"]["beats"] if s.returncode == 0 else -1
b1 = beats()
time.sleep(0.5)
b2 = beats()
log = b""
os.set_blocking(r, False)
end = time.monotonic() + 40
while b"line-${lines - 1} " not in log and time.monotonic() < end:
    try:
        chunk = os.read(r, 65536)
        if not chunk: break
        log += chunk
    except BlockingIOError:
        time.sleep(0.01)
alive = p.poll() is None
p.send_signal(signal.SIGTERM)
os.set_blocking(r, True)
while True:
    chunk = os.read(r, 65536)
    if not chunk: break
    log += chunk
code = p.wait(20)
print(json.dumps({"full": full, "beats": [b1, b2], "alive": alive, "code": code, "log": log.decode(errors="replace")}))
`;
  const r = await drive(script, shipped(["boot", ...bootArgs(), "--config", cfg, "--set", "heartbeat_log_every=0"]), 120_000, { VB_STATUS_ARGV: JSON.stringify(status) });
  expect(r.full).toBeGreaterThan(32768);
  const [b1, b2] = r.beats as [number, number];
  expect(b1).toBeGreaterThan(0);
  expect(b2).toBeGreaterThan(b1);
  expect(r.alive).toBe(true);
  const got = (r.log as string).split("\n").filter((l) => l.startsWith("talker: line-"));
  const want = Array.from({ length: lines }, (_, i) => `talker: line-${i} ${String(i).padStart(90, "0")}`);
  expect(got.length).toBe(lines);
  expect(got).toEqual(want);
  // The init's own lines are whole too (each starts with a timestamp).
  for (const l of (r.log as string).split("\n")) if (l !== "" && !l.startsWith("talker: ")) expect(l).toMatch(/^\[\s*\d+\.\d{6}\] /);
  expect(r.code).toBe(0);
}, 150_000);
}

test("a console nobody reads while a service writes 20 MB held all of it on PID 1's heap (Bun's stream kept everything: +60 MiB for 60 MB, unbounded with a slow serial console): at most 1 MiB waits, the rest is dropped and counted on the console, the ring keeps every line", async () => {
  const dir = tempDir();
  const done = join(dir, "done");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "spew", argv: ["sh", "-c", `head -c 20000000 /dev/zero | tr '\\0' x | fold -w 99 >&2; echo last-line >&2; : > ${done}; exec sleep 600`] }],
  });
  const logs = shipped(["logs", "spew", "--socket", join(dir, "run", "control")]);
  const script = `
import json, os, signal, subprocess, sys, time
${guard}r, w = os.pipe()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w, preexec_fn=die_with_parent)
${killOnExit}os.close(w)
end = time.monotonic() + 60
while not os.path.exists(${JSON.stringify(done)}) and time.monotonic() < end and p.poll() is None: time.sleep(0.05)
# Every line read by the init (its ring has the last one) before the console is read at all.
ring = False
while not ring and time.monotonic() < end and p.poll() is None:
    s = subprocess.run(json.loads(os.environ["VB_LOGS_ARGV"]), capture_output=True, timeout=15)
    ring = b"last-line" in s.stdout
    if not ring: time.sleep(0.1)
log = b""
os.set_blocking(r, False)
end = time.monotonic() + 30
while b"lines dropped" not in log and time.monotonic() < end:
    try:
        chunk = os.read(r, 1 << 20)
        if not chunk: break
        log += chunk
    except BlockingIOError:
        time.sleep(0.01)
p.send_signal(signal.SIGTERM)
os.set_blocking(r, True)
while True:
    chunk = os.read(r, 1 << 20)
    if not chunk: break
    log += chunk
code = p.wait(20)
print(json.dumps({"ring": ring, "code": code, "bytes": len(log), "spew": log.count(b"spew: x"), "notes": [l.decode() for l in log.split(b"\\n") if b"lines dropped" in l]}))
`;
  const r = await drive(script, shipped(["boot", ...bootArgs(), "--config", cfg, "--set", "heartbeat_log_every=0"]), 120_000, { VB_LOGS_ARGV: JSON.stringify(logs) });
  expect(r.ring).toBe(true);
  // The pipe's 64 KiB, the 1 MiB backlog and the init's own lines; 20 MB before.
  expect(r.bytes as number).toBeLessThan(3 << 20);
  expect(r.spew as number).toBeGreaterThan(1000);
  expect(r.notes as string[]).toHaveLength(1);
  expect((r.notes as string[])[0]).toMatch(/^\[console: \d+ lines dropped: it did not keep up \(over 1024 KiB waiting\)\]$/);
  expect(r.code).toBe(0);
}, 150_000);
