// FleetClient.publish turned a fractional offset into a smaller one (int(2.5) = 2) and True into 1: every node then wrote the values one element off.
import { expect, test } from "bun:test";
import { pythonWithFleetStandIn } from "./python-fleet-stand-in.ts";

test("FleetClient.publish(T, 2.5, ...) published offset 2, an offset of True published 1, bytes values one value per byte and [True] as 1.0: a FleetError now, and nothing reaches etcd", () => {
  // The stand-in for etcd's gateway records each txn's stored value in `stored`.
  const script = `
c = FleetClient([url], "f", call_timeout=5)
def error(f):
    try:
        r = f()
    except Exception as e:
        return [type(e).__name__, str(e)]
    return ["returned", r["created"]]
T = "pixel.1.bias"
cases = [(T, 2.5, [0.5], 0.9), (T, True, [0.5], 0.9), (T, -1, [0.5], 0.9), (T, "3", [0.5], 0.9),
         (T, 0, b"\\x00\\x00\\x00?", 0.9), (T, 0, [True], 0.9), (T, 0, [0.5], True)]
errors = [error(lambda: c.publish(*m, mutation_id="m-%d" % i, wait=1)) for i, m in enumerate(cases)]
good = c.publish(T, 2, [0.5, 1], 1, mutation_id="ok", wait=1)
print(json.dumps({"errors": errors, "stored": [[s["offset"], s["values"], s["confidence"]] for s in stored], "good": good["created"]}))
`;
  const r = pythonWithFleetStandIn(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  expect(out.errors).toEqual([
    ["FleetError", "offset must be a whole number from 0 to 2^53-1, got 2.5"],
    ["FleetError", "offset must be a whole number from 0 to 2^53-1, got True"],
    ["FleetError", "offset must be a whole number from 0 to 2^53-1, got -1"],
    ["FleetError", "offset must be a whole number from 0 to 2^53-1, got '3'"],
    ["FleetError", "values must be a sequence of numbers, got bytes"],
    ["FleetError", "values[0] must be a number, got True"],
    ["FleetError", "confidence must be a number from 0 to 1, got True"],
  ]);
  // Only the well-formed mutation was published, as given.
  expect(out.stored).toEqual([[2, [0.5, 1], 1]]);
  expect(out.good).toBe(true);
});
