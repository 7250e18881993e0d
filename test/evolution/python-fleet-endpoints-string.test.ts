// FleetClient("http://host:2379"), one URL as a string instead of a list, took each character as an endpoint ("h", "t", ...): every publish failed with "unknown url type".
import { expect, test } from "bun:test";
import { pythonWithFleetStandIn } from "./python-fleet-stand-in.ts";

test("FleetClient(\"http://host:2379\") took each character of the string as an endpoint and publish failed with 'unknown url type': one string is one endpoint (or several, comma-separated), and a non-string endpoint is a TypeError naming it", () => {
  // The stand-in for etcd's gateway answers every txn "created".
  const script = `
one = FleetClient(url, "f", call_timeout=5)
print(json.dumps({
    "url": url,
    "endpoints": one.endpoints,
    "published": attempt(lambda: one.publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="one", wait=1)["created"]),
    "several": attempt(lambda: FleetClient(url + "/, http://127.0.0.2:2379", "f").endpoints),
    "bad": [attempt(lambda: FleetClient(b"http://h:2379", "f")), attempt(lambda: FleetClient([url, 2379], "f")), attempt(lambda: FleetClient(2379, "f"))],
}))
`;
  const r = pythonWithFleetStandIn(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  expect(out.endpoints).toEqual([out.url]);
  expect(out.published).toEqual(["ok", true]);
  expect(out.several).toEqual(["ok", [out.url, "http://127.0.0.2:2379"]]);
  expect(out.bad).toEqual([
    ["TypeError", "endpoints must be a list of URLs or one string, got bytes"],
    ["TypeError", "endpoints[1] must be a URL string, got 2379"],
    ["TypeError", "endpoints must be a list of URLs or one string, got int"],
  ]);
});
