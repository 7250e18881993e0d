// The shipped Python Client given input it cannot send (a bad batch item, a boolean, a huge integer, a bad tag or hello): what it refuses, and what it must not leave behind.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openEvolution, type Evolution } from "../../src/evolution/evolution.ts";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";
import { PY_RAISED } from "./python-error.ts";

let dir = "";
let evo: Evolution<F32Store>;
beforeAll(async () => {
  dir = tempDir("vb-pyclient-");
  evo = await openEvolution({ stateDir: join(dir, "state"), runDir: join(dir, "run"), loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3) });
});
afterAll(async () => {
  await evo?.close();
  removeDir(dir);
});

/** Runs `body` (Python; `out(**kw)` prints its one JSON line, `error(f)` is f's exception as [type, message] or None) with the shipped client. */
async function py(body: string, args: string[] = []): Promise<Record<string, any>> {
  const script = `
import json, sys
from vector_boot_evolution import Client, ChannelError
def out(**kw): print(json.dumps(kw))
${PY_RAISED}${body}
`;
  // Async: the consumer in this process drains while the script waits.
  const r = await runAsync([python, "-c", script, ...args], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 60_000 });
  if (r.code !== 0 || !r.out.trim()) throw new Error(`python exited ${r.code}: ${r.err}\n${r.out}`);
  return JSON.parse(r.out.trim().split("\n").at(-1)!);
}

/** `py` with `c` a Client on this file's channel. */
const client = (body: string) => py(`c = Client(sys.argv[1], timeout=20)\n${body}`, [evo.socketPath]);

test("submit_batch with a bad item left the good ones before it in the ring, published by the next mutate (16 at once with a long batch): it checks the whole batch first and submits nothing", async () => {
  const before = evo.stats().appliedSeq;
  const r = await client(`
T = "pixel.w"
short = [(T, 0, [.11], .9), (T, 1, [.12], .9), (T, 2, [.13], .9), (T, 3, ["bad"], .9)]
long = [(T, i, [.2], .9) for i in range(40)] + [(T, -1, [.5], .9)]
errors = [error(lambda: c.submit_batch(short)), error(lambda: c.submit_batch(long))]
d = c.mutate(T, 9, [.5], .9)
out(errors=errors, status=d.status_name, journal_seq=d.journal_seq, done_left=len(c._done), pending=len(c._pending))
`);
  // The mutate is the first thing journaled since the script began, and nothing else is left over.
  expect({ status: r.status, journal_seq: r.journal_seq, done_left: r.done_left, pending: r.pending }).toEqual({ status: "ACCEPTED", journal_seq: before + 1, done_left: 0, pending: 0 });
  expect(evo.stats().appliedSeq).toBe(before + 1);
  expect(r.errors[0]).toEqual(["ValueError", expect.stringContaining("mutations[3]: values[0] must be a number, got 'bad'")]);
  expect(r.errors[1]).toEqual(["ValueError", expect.stringContaining("mutations[40]: offset must be a whole number")]);
}, 90_000);

test("ControlClient.reexec(\"\") re-executed the running image (the empty path was dropped as if none was given): it is refused as the CLI refuses it, before anything is sent", async () => {
  // A control socket that answers every request ok and records it.
  const r = await py(`
import os, socket, tempfile, threading
from vector_boot_evolution import ControlClient
path = os.path.join(tempfile.mkdtemp(), "control")
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
asked = []
def serve():
    conn, _ = srv.accept()
    for line in conn.makefile("rb"):
        req = json.loads(line)
        asked.append(req)
        conn.sendall((json.dumps({"id": req["id"], "ok": True, "result": {}}) + "\\n").encode())
threading.Thread(target=serve, daemon=True).start()
c = ControlClient(path, timeout=20)
errors = [error(lambda: c.reexec(p)) for p in ("", "relative/vector-boot", b"/bytes")]
c.reexec("/opt/new/vector-boot")
c.reexec()
out(errors=errors, asked=asked)
`);
  expect(r.asked).toEqual([
    { id: expect.any(Number), op: "reexec", path: "/opt/new/vector-boot" },
    { id: expect.any(Number), op: "reexec" },
  ]);
  expect(r.errors).toEqual([
    ["ValueError", "PATH must be absolute, got ''"],
    ["ValueError", "PATH must be absolute, got 'relative/vector-boot'"],
    ["ValueError", "PATH must be absolute, got b'/bytes'"],
  ]);
}, 60_000);

test("an integer beyond a double (10**400) raised OverflowError from mutate, and made vb-evolve batch print a traceback and exit 1 (the refused-mutation code): it is the infinity a float would be, and the gate answers NON_FINITE", async () => {
  const r = await client(`
T = "pixel.w"
done = [c.mutate(T, 0, [10**400], .9), c.mutate(T, 0, [.5, -10**400], .9), c.mutate(T, 0, [.5], 10**400)]
out(done=[[d.status_name, d.journal_seq, d.text] for d in done])
`);
  expect(r.done).toEqual([
    ["NON_FINITE", 0, "value Infinity"],
    ["NON_FINITE", 0, "value -Infinity"],
    ["LOW_CONFIDENCE", 0, expect.any(String)],
  ]);
  // The CLI: a 400-digit integer in a batch line is answered like 1e400 (json reads that as infinity).
  const file = join(dir, "huge.jsonl");
  const lines = [`{"tensor": "pixel.w", "offset": 0, "values": [1${"0".repeat(400)}], "confidence": 0.9}`, `{"tensor": "pixel.w", "offset": 0, "values": [1e400], "confidence": 0.9}`];
  await Bun.write(file, lines.join("\n") + "\n");
  const cli = await runAsync([python, "-m", "vector_boot_evolution", "--socket", evo.socketPath, "batch", file], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 60_000 });
  expect(cli.err).not.toContain("Traceback");
  expect(cli.code).toBe(1);
  expect(cli.out.trim().split("\n").map((l) => JSON.parse(l))).toEqual([
    { status: "NON_FINITE", journal_seq: 0, text: "value Infinity" },
    { status: "NON_FINITE", journal_seq: 0, text: "value Infinity" },
  ]);
}, 60_000);

test("a bool offset, value or confidence was accepted and journaled as 1 (mutate(T, True, [True], True) wrote offset 1, value 1.0, confidence 1.0): refused with the ValueError vb-evolve gives, by mutate and submit_batch alike", async () => {
  const before = evo.stats().appliedSeq;
  const r = await client(`
T = "pixel.w"
cases = [(T, True, [.5], .9), (T, 0, [True], .9), (T, 0, [.5, False], .9), (T, 0, [.5], True), (T, True, [True], True)]
errors = [error(lambda: c.mutate(*m)) for m in cases] + [error(lambda: c.submit_batch([(T, 0, [.5], .9), m])) for m in cases]
d = c.mutate(T, 1, [1, 2.5], 1)  # whole numbers are numbers
out(errors=errors, status=d.status_name, journal_seq=d.journal_seq)
`);
  expect(evo.stats().appliedSeq).toBe(before + 1);
  expect({ status: r.status, journal_seq: r.journal_seq }).toEqual({ status: "ACCEPTED", journal_seq: before + 1 });
  const single = ["offset must be a whole number 0..2**64-1, got True", "values[0] must be a number, got True", "values[1] must be a number, got False", "confidence must be a number, got True", "offset must be a whole number 0..2**64-1, got True"];
  expect(r.errors).toEqual([...single.map((m) => ["ValueError", m]), ...single.map((m) => ["ValueError", `mutations[1]: ${m}`])]);
}, 60_000);

test("a hello that is not JSON, not an object, not UTF-8 or too long left Client()'s socket open and raised JSONDecodeError, AttributeError or UnicodeDecodeError: ChannelError now (what ReconnectingClient retries), every fd closed", async () => {
  // A consumer that answers each session with one of these hellos.
  const r = await py(`
import os, socket, tempfile, threading
path = os.path.join(tempfile.mkdtemp(), "evolution.sock")
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
def fds(): return len(os.listdir("/proc/self/fd"))
hellos = [b"not json\\n", b"[1, 2]\\n", b'"a string"\\n', b"\\xff\\xfe\\n", b"x" * 70000 + b"\\n", b'{"v": 2}\\n', b'{"v": 2, "path": "/nonexistent", "size": 4096, "ring": 0}\\n']
results = []
for hello in hellos:
    def serve():
        conn, _ = srv.accept()
        try:
            conn.sendall(hello)
        except OSError:
            pass  # the client stopped reading: it has what it needs
        conn.close()
    t = threading.Thread(target=serve)
    before = fds()
    t.start()
    try:
        Client(path, timeout=20)
        results.append(None)
    except Exception as e:
        t.join()
        results.append([type(e).__name__, fds() - before])  # counted while the exception (and its frames) live
out(results=results)
`);
  expect(r.results).toEqual(Array(7).fill(["ChannelError", 0]));
}, 60_000);

test("a tensor name of bytes, int or None raised AttributeError, a tag of -1, 2**64 or 'abc' a raw struct.error, and submit(tag=2), submit(), submit() gave tags 2, 1, 2 (the second wait(2) timed out): ValueErrors that say why, and automatic tags skip the caller's", async () => {
  const r = await client(`
T = "pixel.w"
names = [error(lambda: c.mutate(n, 0, [.5], .9)) for n in (b"pixel.w", 5, None, "\\udcff")]
tags = [error(lambda: c.submit(T, 0, [.5], .9, tag=t)) for t in (-1, 2**64, "abc", True, 1.0)]
order = [c.submit(T, 0, [.1], .9, tag=2), c.submit(T, 1, [.2], .9), c.submit(T, 2, [.3], .9)]
reuse = error(lambda: c.submit(T, 3, [.4], .9, tag=2))  # 2 is still waiting to be collected
seqs = {}
for t in order:
    d = c.wait(t, timeout=10)
    seqs[t] = d.seq
again = c.wait(c.submit(T, 3, [.4], .9, tag=2), timeout=10)  # collected: free again
out(names=names, tags=tags, order=order, reuse=reuse, seqs=seqs, again=[again.tag, again.status_name], done_left=len(c._done))
`);
  expect(r.order).toEqual([2, 1, 3]);
  expect(r.seqs).toEqual({ 2: r.seqs[2], 1: r.seqs[2] + 1, 3: r.seqs[2] + 2 });
  expect(r.reuse).toEqual(["ValueError", "tag 2 is in use: its completion has not been waited for"]);
  expect(r.again).toEqual([2, "ACCEPTED"]);
  expect(r.done_left).toBe(0);
  expect(r.names).toEqual([
    ["ValueError", "tensor name must be a str, got b'pixel.w'"],
    ["ValueError", "tensor name must be a str, got 5"],
    ["ValueError", "tensor name must be a str, got None"],
    ["ValueError", "tensor name '\\udcff' is not valid UTF-8 (a lone surrogate)"],
  ]);
  expect(r.tags).toEqual(["-1", "18446744073709551616", "'abc'", "True", "1.0"].map((t) => ["ValueError", `tag must be a whole number 0..2**64-1, got ${t}`]));
}, 60_000);

test("vb-evolve batch: a line whose tensor is a lone surrogate (\"\\udcff\") failed with the codec's message and no line number: the line names itself, and nothing is sent", async () => {
  const before = evo.stats().appliedSeq;
  const file = join(dir, "surrogate.jsonl");
  await Bun.write(file, `{"tensor": "pixel.w", "offset": 0, "values": [0.5], "confidence": 0.9}\n{"tensor": "\\udcff", "offset": 0, "values": [0.5], "confidence": 0.9}\n`);
  const r = await runAsync([python, "-m", "vector_boot_evolution", "--socket", evo.socketPath, "batch", file], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 60_000 });
  expect({ code: r.code, err: r.err.trim() }).toEqual({ code: 2, err: "vb-evolve batch: line 2: tensor name '\\udcff' is not valid UTF-8 (a lone surrogate)" });
  expect(evo.stats().appliedSeq).toBe(before);
}, 60_000);

test("python -m vector_boot_evolution.control printed runpy's RuntimeWarning (the package had imported the module already): it runs clean, and the package still exports ControlClient", async () => {
  const env = { ...process.env, PYTHONPATH: shippedPython };
  const usage = await runAsync([python, "-m", "vector_boot_evolution.control"], { env, timeoutMs: 30_000 });
  expect({ code: usage.code, err: usage.err.trim() }).toEqual({ code: 64, err: "usage: control.py [--socket PATH] [--timeout S] OP [JSON-FIELDS]" });
  const os = await runAsync([python, "-m", "vector_boot_evolution.control", "--socket", "/nonexistent/control", "status"], { env, timeoutMs: 30_000 });
  expect(os.code).toBe(2);
  expect(JSON.parse(os.err)).toEqual({ code: "os_error", message: expect.any(String) });
  const api = await runAsync([python, "-c", "import vector_boot_evolution as v; from vector_boot_evolution import *; print(v.ControlClient.__name__, ControlError.__name__)"], { env, timeoutMs: 30_000 });
  expect(api.out.trim()).toBe("ControlClient ControlError");
}, 60_000);

test("ReconnectingClient.submit_batch with a bad item submitted (and the init journaled) the good ones before it: it checks the whole batch first and submits nothing", async () => {
  const before = evo.stats().appliedSeq;
  const r = await py(`
from vector_boot_evolution import ReconnectingClient
T = "pixel.w"
with ReconnectingClient(sys.argv[1], timeout=20) as rc:
    e = error(lambda: rc.submit_batch([(T, 0, [.11], .9), (T, 1, [.12], .9), (T, 2, [.13], .9), (T, 3, ["bad"], .9)]))
    d = rc.mutate(T, 9, [.5], .9)
    out(error=e, status=d.status_name, journal_seq=d.journal_seq, empty=rc.submit_batch([]))
`, [evo.socketPath]);
  expect({ status: r.status, journal_seq: r.journal_seq, empty: r.empty }).toEqual({ status: "ACCEPTED", journal_seq: before + 1, empty: [] });
  expect(r.error).toEqual(["ValueError", "mutations[3]: values[0] must be a number, got 'bad'"]);
  expect(evo.stats().appliedSeq).toBe(before + 1);
}, 60_000);

test("Client(None) or Client(42) blamed the consumer ('consumer sent an unusable hello: TypeError: expected str, bytes or os.PathLike object'): the caller's own argument is a TypeError naming socket_path, raised before connecting", async () => {
  const r = await py(`
out(none=error(lambda: Client(None)), number=error(lambda: Client(42)), timeout=error(lambda: Client("/nonexistent/evolution.sock", timeout=0)))
`);
  expect(r.none).toEqual(["TypeError", "socket_path must be a path (str, bytes or os.PathLike), got None"]);
  expect(r.number).toEqual(["TypeError", "socket_path must be a path (str, bytes or os.PathLike), got 42"]);
  expect(r.timeout![0]).toBe("ValueError");
});
