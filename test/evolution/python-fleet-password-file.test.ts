// FleetClient with a password file that cannot be read: a FleetError naming the txn call and an endpoint, as if the endpoint had failed, and publish went on to the next endpoint, retrying until its deadline.
import { expect, test } from "bun:test";
import { pythonWithFleetStandIn } from "./python-fleet-stand-in.ts";

test("FleetClient with a missing password file raised a FleetError naming the txn call and an endpoint, failed over to the next endpoint and publish retried it until its deadline: it is a FleetLocalError (a FleetError) naming the password file, raised at once without trying any endpoint", () => {
  // Two stand-ins for etcd's gateway (authenticate answers a token, every txn "created"); each records the calls it got.
  // This `attempt` (in place of the stand-in's) also says whether the error is a FleetError and how long it took.
  const script = `
import os, tempfile, time
calls = []
def answer(handler, raw):
    body = json.loads(raw)
    calls.append([handler.server.server_port, handler.path, body.get("password"), handler.headers.get("authorization")])
    return {"token": "tok"} if handler.path == "/v3/auth/authenticate" else CREATED
urls = [gateway(answer) for _ in range(2)]
pw = os.path.join(tempfile.mkdtemp(), "etcd-password")
c = FleetClient(urls, "f", user="vb", password_file=pw, call_timeout=5)
def attempt(f):
    t0 = time.monotonic()
    try:
        return ["ok", f(), 0]
    except Exception as e:
        return [type(e).__name__, str(e), isinstance(e, FleetError), round(time.monotonic() - t0)]
missing = {
    "publish": attempt(lambda: c.publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="m1", wait=4)),
    "wait_acked": attempt(lambda: c.wait_acked("m1", ["n1"], timeout=4)),
    "current": c._current, "calls": list(calls),
}
with open(pw, "w") as f:
    f.write("s3cret\\n")
print(json.dumps({"pw": pw, "urls": urls, "missing": missing, "created": c.publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="m1", wait=30)["created"], "calls": calls}))
`;
  const r = pythonWithFleetStandIn(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout);
  const local = ["FleetLocalError", `cannot read the etcd password file '${out.pw}' of user 'vb': No such file or directory`, true, 0];
  // At once (not after the 4 s given), nothing sent, and still on the first endpoint.
  expect(out.missing).toEqual({ publish: local, wait_acked: local, current: 0, calls: [] });
  // Once the file is there: the first endpoint authenticates with its password, then takes the txn with the token.
  const port = Number(new URL(out.urls[0]).port);
  expect(out.created).toBe(true);
  expect(out.calls).toEqual([
    [port, "/v3/auth/authenticate", "s3cret", null],
    [port, "/v3/kv/txn", null, "tok"],
  ]);
}, 60_000);
