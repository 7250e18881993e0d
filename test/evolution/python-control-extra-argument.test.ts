// `python3 -m vector_boot_evolution.control OP JSON-FIELDS EXTRA` dropped EXTRA and sent the request (exit 0): a typo'd word after JSON-FIELDS went unnoticed.
import { afterEach, expect, test } from "bun:test";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, shippedPython } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";

afterEach(killLeftovers);

const ctl = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.control", ...args], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 30_000 });

test("a word after JSON-FIELDS was dropped and the request sent (`ping '{}' now` printed the result, exit 0): it is a usage error (exit 64) naming the word, sent to no socket", async () => {
  const init = await initForPython();
  for (const args of [["ping", "{}", "now"], ["status", "{}", "{}", "x"], ["logs", '{"name": "web"}', "--limit"]]) {
    const r = await ctl(["--socket", init.controlSocket, ...args]);
    expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 64, out: "" });
    expect(JSON.parse(r.err)).toEqual({ code: "usage", message: `unexpected argument ${JSON.stringify(args[2]).replace(/"/g, "'")} after JSON-FIELDS (one JSON object holds every field) (see --help)` });
  }
  // Checked before connecting: with no socket at that path it is still the usage error, not os_error (2).
  const none = await ctl(["--socket", `${init.controlSocket}.missing`, "ping", "{}", "now"]);
  expect({ code: none.code, err: JSON.parse(none.err).code }).toEqual({ code: 64, err: "usage" });
  // The same request without the extra word reaches the running init.
  const ok = await ctl(["--socket", init.controlSocket, "ping", "{}"]);
  expect({ code: ok.code, err: ok.err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(ok.out)).toBeTruthy();
}, 90_000);
