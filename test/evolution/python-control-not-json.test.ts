// An answer line that is not the control protocol: the Python control client raised json's JSONDecodeError naming no socket, and its CLI printed a traceback and exited 1 (documented as "the server refused").
import { afterAll, afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython } from "../pid1/harness.ts";
import { removeDir, tempDir } from "./harness.ts";
import { initForPython } from "./python-against-init.ts";

afterEach(killLeftovers);
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const env = { ...process.env, PYTHONPATH: shippedPython };
const ctl = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.control", ...args], { env, timeoutMs: 30_000 });
const lib = `import sys, json
from vector_boot_evolution import ControlClient, ControlError
with ControlClient(sys.argv[1], timeout=10) as c:
    try:
        print(json.dumps(["returned", repr(c.ping())]))
    except Exception as e:
        print(json.dumps([type(e).__name__, str(e), isinstance(e, ControlError), getattr(e, "code", None)]))
`;

test("a control answer line that is not JSON raised JSONDecodeError naming no socket, and the CLI printed a traceback and exited 1 ('the server refused'): it is a ControlProtocolError (a ControlError, code protocol_error) naming the socket, and the CLI exits 76 with a JSON error line", async () => {
  const d = tempDir("vb-pyctlnotjson-");
  dirs.push(d);
  // A stand-in control socket answering each request line with the line the test sets.
  let answer = "";
  const path = join(d, "control");
  const server = Bun.listen({
    unix: path,
    socket: {
      data(sock) {
        sock.write(answer + "\n");
      },
    },
  });
  try {
    for (const [line, shown] of [
      ["<html>not json</html>", "b'<html>not json</html>'"],
      ["[1, 2]", "b'[1, 2]'"],
    ] as const) {
      answer = line;
      const r = await runAsync([python, "-c", lib, path], { env, timeoutMs: 30_000 });
      expect({ line, err: r.err }).toEqual({ line, err: "" });
      const message = `${path}: the answer is not a JSON object (is it a control socket?): ${shown}`;
      expect(JSON.parse(r.out)).toEqual(["ControlProtocolError", `protocol_error: ${message}`, true, "protocol_error"]);
      const cli = await ctl(["--socket", path, "ping"]);
      expect({ line, code: cli.code, out: cli.out, err: JSON.parse(cli.err) }).toEqual({ line, code: 76, out: "", err: { code: "protocol_error", message } });
    }
    // An error that is no object: named as well, not AttributeError.
    answer = '{"id": 1, "ok": false, "error": "nope"}';
    const r = await runAsync([python, "-c", lib, path], { env, timeoutMs: 30_000 });
    expect(JSON.parse(r.out)).toEqual(["ControlProtocolError", `protocol_error: ${path}: the answer's error is not an object: 'nope'`, true, "protocol_error"]);
  } finally {
    server.stop(true);
  }
}, 60_000);

test("the control client pointed at the shipped init's evolution socket read its hello as an answer (ControlError 'unknown: ', exit 1): it names the socket as no control socket (protocol_error, exit 76)", async () => {
  const init = await initForPython();
  const r = await runAsync([python, "-c", lib, init.evolutionSocket], { env, timeoutMs: 30_000 });
  const out = JSON.parse(r.out);
  expect([out[0], out[2], out[3]]).toEqual(["ControlProtocolError", true, "protocol_error"]);
  expect(out[1]).toStartWith(`protocol_error: ${init.evolutionSocket} is not a control socket (it greeted with {"v":`);
  expect(out[1]).toEndWith("): is it the evolution socket?");
  const cli = await ctl(["--socket", init.evolutionSocket, "ping"]);
  expect({ code: cli.code, out: cli.out, err: JSON.parse(cli.err).code }).toEqual({ code: 76, out: "", err: "protocol_error" });
  // The control socket beside it answers.
  expect((await ctl(["--socket", init.controlSocket, "ping"])).code).toBe(0);
}, 90_000);
