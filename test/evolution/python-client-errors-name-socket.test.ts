// The Python evolution client's errors after the connect named no socket ("consumer refused the session: busy", "timed out waiting for the consumer"): with several instances, which one failed?
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { PY_RAISED } from "./python-error.ts";

afterEach(killLeftovers);

// Steps on stdin: each line from the test lets the script go on; each step's results are one JSON line on stdout.
const script = `import json, os, socket, sys, tempfile, threading
from vector_boot_evolution import Client
evo = sys.argv[1]
def say(**kw): print(json.dumps(kw), flush=True)
${PY_RAISED}# Stand-in consumers whose hello fails: each accepts one session, sends these bytes and closes.
stand_in = {}
for name, hello in (("closed", b""), ("not_json", b"not json\\n"), ("too_long", b"x" * 70000 + b"\\n")):
    path = os.path.join(tempfile.mkdtemp(), "evolution.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    def serve(srv=srv, hello=hello):
        conn, _ = srv.accept()
        try:
            conn.sendall(hello)
        except OSError:
            pass  # the client stopped reading
        conn.close()
    t = threading.Thread(target=serve)
    t.start()
    stand_in[name] = [path, error(lambda: Client(path, timeout=20))]
    t.join()
# The shipped init with one ring: a second session is refused.
c = Client(evo, timeout=20)
say(stand_in=stand_in, busy=error(lambda: Client(evo, timeout=20)))
sys.stdin.readline()  # the init is stopped (SIGSTOP): nothing answers
tag = c.submit("pixel.0.bias", 0, [0.5], 0.9)
say(timed_out=error(lambda: c.wait(tag, timeout=0.5)))
sys.stdin.readline()  # the init has exited
tag = c.submit("pixel.0.bias", 1, [0.5], 0.9, ring_doorbell=False)
say(closed=error(lambda: c.wait(tag, timeout=20)), gone=error(c.doorbell))
`;

test("the evolution client's errors after the connect named no socket ('consumer refused the session: busy: every ring is taken', 'consumer closed the session during hello', 'timed out waiting for the consumer', 'consumer gone', 'consumer closed the session'): each names the socket, and is still a ChannelError", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0, rings: 1 } });
  const boot = start(["boot", "--config", cfg]);
  await waitFor(() => boot.log().includes("phase heartbeat"), 30_000, "boot up");
  const evo = join(dir, "run/evolution.sock");
  const py = Bun.spawn([python, "-c", script, evo], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, PYTHONPATH: shippedPython } });
  const timer = setTimeout(() => py.kill(9), 90_000);
  const reader = py.stdout.getReader();
  let buffered = "";
  const step = async (): Promise<Record<string, any>> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the script ended: ${await new Response(py.stderr).text()}`);
      buffered += new TextDecoder().decode(value);
    }
    const [line, ...rest] = buffered.split("\n");
    buffered = rest.join("\n");
    return JSON.parse(line!);
  };
  try {
    const first = await step();
    // Refused by the shipped init (its one ring is taken), and by stand-ins during the hello.
    expect(first.busy).toEqual(["ChannelError", `consumer at ${evo} refused the session: busy: every ring is taken`]);
    const [closedAt, closed] = first.stand_in.closed;
    expect(closed).toEqual(["ChannelError", `consumer at ${closedAt} closed the session during hello`]);
    const [notJsonAt, notJson] = first.stand_in.not_json;
    expect(notJson[0]).toBe("ChannelError");
    expect(notJson[1]).toStartWith(`consumer at ${notJsonAt} sent a hello that is not JSON: `);
    const [longAt, long] = first.stand_in.too_long;
    expect(long).toEqual(["ChannelError", `consumer at ${longAt} sent a hello line over 65536 bytes`]);
    // A consumer that does not answer: the shipped init, stopped.
    process.kill(boot.proc.pid, "SIGSTOP");
    py.stdin.write("\n");
    py.stdin.flush();
    expect((await step()).timed_out).toEqual(["ChannelError", `timed out waiting for the consumer at ${evo}`]);
    process.kill(boot.proc.pid, "SIGCONT");
    process.kill(boot.proc.pid, "SIGTERM");
    await boot.result(60_000);
    py.stdin.write("\n");
    py.stdin.flush();
    const last = await step();
    const at = evo.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // The session's end: end of stream, or a reset when the consumer closed with doorbells unread.
    expect(last.closed[0]).toBe("ChannelError");
    expect(last.closed[1]).toMatch(new RegExp(`^consumer at ${at} (closed the session|gone: \\[Errno 104\\] .*)$`));
    expect(last.gone[0]).toBe("ChannelError");
    expect(last.gone[1]).toMatch(new RegExp(`^consumer at ${at} gone: \\[Errno (32|104)\\] `));
  } finally {
    clearTimeout(timer);
    py.kill(9);
  }
}, 150_000);
