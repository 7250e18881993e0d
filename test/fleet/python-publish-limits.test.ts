// The Python FleetClient published mutations no node can read (over 65,536 values, a tensor name of 0 or over 256 characters, an offset past 2^53-1): every node acked each one MALFORMED, and the publisher learnt it only from the acks.
import { expect, test } from "bun:test";
import { runAsync, shippedPython } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";

test("FleetClient.publish sent a mutation outside the nodes' fleet schema to etcd; it is refused before any call, naming the limit", async () => {
  const script = `
import json
from vector_boot_evolution import FleetClient, FleetError
c = FleetClient("http://127.0.0.1:9", "pylimits", call_timeout=1)
calls = []
def counted(path, body, timeout=None):
    calls.append(path)
    raise FleetError("no etcd here")
c.call = counted
out = {}
for name, args in [
    ("values", ("pixel.0.weight", 0, [0.5] * 65537)),
    ("empty-name", ("", 0, [0.5])),
    ("long-name", ("t" * 257, 0, [0.5])),
    ("offset", ("pixel.0.weight", 2 ** 53, [0.5])),
]:
    before = len(calls)
    try:
        c.publish(*args, confidence=0.9, mutation_id="m-" + name, wait=1)
        out[name] = ["published", len(calls) - before]
    except FleetError as e:
        out[name] = [str(e), len(calls) - before]
# At the limits: published (here, the stand-in call is reached and fails).
for name, args in [("values-max", ("pixel.0.weight", 0, [0.5] * 65536)), ("name-max", ("t" * 256, 2 ** 53 - 1, [0.5]))]:
    try:
        c.publish(*args, confidence=0.9, mutation_id="m-" + name, wait=0.2)
    except FleetError as e:
        out[name] = str(e)
print(json.dumps({"out": out}))
`;
  const r = await runAsync([python, "-c", script], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 60_000 });
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  const { out } = JSON.parse(r.out);
  // Refused before any call (the old client sent each to etcd until its wait ran out).
  expect(out.values).toEqual(["values: at most 65536 in one fleet mutation, got 65537", 0]);
  expect(out["empty-name"]).toEqual([expect.stringMatching(/^tensor must be a name of 1 to 256 characters/), 0]);
  expect(out["long-name"]).toEqual([expect.stringMatching(/^tensor must be a name of 1 to 256 characters/), 0]);
  expect(out.offset).toEqual(["offset must be a whole number from 0 to 2^53-1, got 9007199254740992", 0]);
  // At the limits: sent (the stand-in call fails).
  expect(out["values-max"]).toContain("no etcd here");
  expect(out["name-max"]).toContain("no etcd here");
});
