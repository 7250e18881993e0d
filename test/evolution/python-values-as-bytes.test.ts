// Values given as bytes (a struct.pack / array.tobytes of float32s): the shipped Python clients sent each byte as a value.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";
import { PY_ERROR } from "./python-error.ts";

afterEach(killLeftovers);

test("mutate(T, 0, struct.pack('<2f', 0, 0), c) wrote 8 values (one per byte) and was ACCEPTED, as did submit_batch, ReconnectingClient and ControlClient.mutate: a ValueError now, nothing journaled", async () => {
  const init = await initForPython();
  const script = `
import json, struct, sys
from array import array
from vector_boot_evolution import Client, ReconnectingClient, ControlClient
${PY_ERROR}T = "pixel.1.bias"
packed = [struct.pack("<2f", 0.0, 0.0), bytearray(8), array("f", [0.0, 0.0]).tobytes(), memoryview(bytes(8)), "0.5"]
with Client(sys.argv[1], timeout=20) as c, ReconnectingClient(sys.argv[1], timeout=20) as rc, ControlClient(sys.argv[2], timeout=20) as cc:
    errors = [error(lambda: c.mutate(T, 0, v, 0.95)) for v in packed]
    errors += [error(lambda: c.submit_batch([(T, 0, v, 0.95)])) for v in packed]
    errors += [error(lambda: rc.submit_batch([(T, 0, v, 0.95)])) for v in packed]
    errors += [error(lambda: cc.mutate(T, 0, v, 0.95)) for v in packed]
    # Numbers in any sequence still go: an array of floats, a memoryview of one.
    ok = [c.mutate(T, 0, array("f", [0.25, 0.5]), 0.95), c.mutate(T, 0, memoryview(array("d", [0.75])), 0.95)]
print(json.dumps({"errors": errors, "ok": [[d.status_name, d.journal_seq] for d in ok]}))
`;
  const r = init.runPython(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  const kinds = ["bytes", "bytearray", "bytes", "memoryview", "str"];
  const single = kinds.map((k) => ["ValueError", `values must be a sequence of numbers, got ${k}${k === "str" ? "" : " (unpack packed floats first, e.g. with array('f', data))"}`]);
  const batch = single.map(([t, m]) => [t, `mutations[0]: ${m}`]);
  expect(out.errors).toEqual([...single, ...batch, ...batch, ...single]);
  // Nothing of the above was journaled: the two good mutations are the first.
  expect(out.ok).toEqual([["ACCEPTED", 1], ["ACCEPTED", 2]]);
}, 120_000);
