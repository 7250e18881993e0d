// The Python ControlClient against a listener whose backlog is full (a connection flood): BlockingIOError at once, whatever its timeout.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { shippedPython } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { tempDir } from "./harness.ts";

const dir = tempDir("vb-py-busy-");
const held: { kill(sig?: number): void }[] = [];
afterAll(() => held.forEach((p) => p.kill(9)));

/** Fills its own backlog and prints "full"; on a line from stdin it frees the queue, then answers every request line with ok. */
const listener = [
  "import json, socket, sys",
  "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)",
  "cs = []",
  "while True:",
  "    c = socket.socket(socket.AF_UNIX); c.setblocking(False)",
  "    try: c.connect(sys.argv[1]); cs.append(c)",
  "    except BlockingIOError: break",
  "print('full', flush=True)",
  "sys.stdin.readline()",
  "for c in cs: c.close()",
  "while True:",
  "    a, _ = s.accept(); f = a.makefile('rb')",
  "    for line in f:",
  "        r = json.loads(line); a.sendall((json.dumps({'id': r['id'], 'ok': True, 'result': 'pong'}) + '\\n').encode())",
  "    a.close()",
].join("\n");

const client = (timeout: number) =>
  [
    "import sys, time",
    "from vector_boot_evolution.control import ControlClient, ControlError",
    "t = time.monotonic()",
    "try:",
    `    with ControlClient(sys.argv[1], timeout=${timeout}) as c: print('answer', c.ping(), flush=True)`,
    "except ControlError as e: print('ControlError', e.code, e.message, flush=True)",
    "except OSError as e: print(type(e).__name__, e, flush=True)",
    "print('after', round(time.monotonic() - t, 1))",
  ].join("\n");

async function fullListener(name: string) {
  const path = join(dir, name);
  const p = Bun.spawn([python, "-c", listener, path], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  held.push(p);
  const { value } = await p.stdout.getReader().read();
  expect(new TextDecoder().decode(value)).toStartWith("full");
  return { path, p };
}

const env = { ...process.env, PYTHONPATH: shippedPython };

test("a full backlog raised BlockingIOError at once (timeout=10): the client connects once the init takes connections again", async () => {
  const { path, p } = await fullListener("frees");
  const c = Bun.spawn([python, "-c", client(10), path], { env, stdout: "pipe", stderr: "pipe" });
  held.push(c);
  await Bun.sleep(400);
  p.stdin.write("go\n");
  p.stdin.flush();
  const out = await new Response(c.stdout).text();
  expect(out).toContain("answer pong");
  p.kill(9);
}, 30_000);

test("a full backlog until the timeout is the server's busy (try again) naming the path, not an errno naming nothing", async () => {
  const { path, p } = await fullListener("stays");
  const r = Bun.spawnSync([python, "-c", client(1), path], { env, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  const out = r.stdout.toString();
  expect(out).toContain(`ControlError busy ${path}: the instance is not taking connections`);
  expect(Number(out.match(/after ([0-9.]+)/)?.[1])).toBeGreaterThanOrEqual(0.5);
  p.kill(9);
}, 30_000);
