// The Python control client waiting for an answer past its timeout: a bare TimeoutError('timed out') naming no socket, and a CLI fixed at 10 s whose stop of a long-grace service said "timed out" (exit 2) while the stop went on.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { untilGate } from "../pid1/live-reexec.ts";
import { lines } from "../pid1/file-text.ts";

afterEach(killLeftovers);

const env = { ...process.env, PYTHONPATH: shippedPython };
const ctl = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.control", ...args], { env, timeoutMs: 60_000 });

test("a control request not answered in time raised a bare TimeoutError('timed out') naming no socket, and the CLI's fixed 10 s wait made a long stop exit 2 'timed out': the error is a ControlTimeout (a ControlError) naming the socket and the operation, and `--timeout S` running out on a stop still under way exits 75 (not_now), as `vector-boot stop --timeout MS`", async () => {
  const dir = tempDir();
  const ev = join(dir, "events");
  const gate = join(dir, "gate");
  // Its stop signal is trapped and waits for the gate (bounded): a stop of it stays under way (grace 60 s).
  const svc = { name: "svc", argv: ["sh", "-c", `trap 'echo term >> ${ev}; ${untilGate(gate)}; exit 0' TERM; echo main >> ${ev}; while :; do sleep 0.05; done`], grace_ms: 60_000 };
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 }, services: [svc] });
  const boot = start(["boot", "--config", cfg]);
  const sock = join(dir, "run/control");
  try {
    await waitFor(() => lines(ev).includes("main") && boot.log().includes("control socket listening"), 30_000, "the service and the control socket");
    // The library: the stop is sent, its answer does not come within 0.5 s.
    const script = `import sys, json
from vector_boot_evolution import ControlClient, ControlError
with ControlClient(sys.argv[1], timeout=0.5) as c:
    try:
        c.stop("svc")
        print(json.dumps(["returned"]))
    except Exception as e:
        print(json.dumps([type(e).__name__, str(e), isinstance(e, ControlError), isinstance(e, TimeoutError), getattr(e, "code", None)]))
`;
    const lib = await runAsync([python, "-c", script, sock], { env, timeoutMs: 60_000 });
    expect(lib.err).toBe("");
    expect(JSON.parse(lib.out)).toEqual(["ControlTimeout", `timeout: ${sock}: "stop" not answered within 0.5 s; it was sent, so the instance may still carry it out (check before retrying)`, true, true, "timeout"]);
    await waitFor(() => lines(ev).includes("term"), 30_000, "the stop signal");
    // The CLI: --timeout runs out while the service is still stopping: the stop goes on (75), as vector-boot stop.
    for (const opt of [["--timeout", "1"], ["--timeout=1"]]) {
      const r = await ctl(["--socket", sock, ...opt, "stop", '{"name": "svc"}']);
      expect({ opt, code: r.code, out: r.out }).toEqual({ opt, code: 75, out: "" });
      expect(JSON.parse(r.err)).toEqual({ code: "not_now", message: "svc: still stopping after 1 s (its stop signal was sent; the grace period, then SIGKILL, ends it): the stop goes on; wait with a longer --timeout, or ask again later" });
    }
    // A read-only request that is answered is not held up by the option; a bad value is a usage error.
    const ping = await ctl(["--timeout", "5", "--socket", sock, "ping"]);
    expect({ code: ping.code, err: ping.err }).toEqual({ code: 0, err: "" });
    for (const bad of ["0", "-1", "nan", "soon"]) {
      const r = await ctl(["--socket", sock, "--timeout", bad, "ping"]);
      expect({ bad, code: r.code, err: JSON.parse(r.err) }).toEqual({ bad, code: 64, err: { code: "usage", message: `--timeout must be a positive number of seconds, got '${bad}' (see --help)` } });
    }
    // Once the stop can end, a stop asked with room enough is answered (the service holds no process).
    writeFileSync(gate, "");
    const done = await ctl(["--socket", sock, "--timeout", "30", "stop", '{"name": "svc"}']);
    expect({ code: done.code, err: done.err }).toEqual({ code: 0, err: "" });
    expect(JSON.parse(done.out).state).toBe("stopped");
    // The help names the option and its default (as vector-boot stop's 30000 ms).
    const help = await ctl(["--help"]);
    expect(help.out).toContain("--timeout S    seconds to wait for the answer, also --timeout=S (default 30,");
  } finally {
    writeFileSync(gate, "");
  }
}, 120_000);
