// Client(timeout=None), the socket module's "no limit": mutate raised TypeError after the init had journaled the mutation; a bad timeout was blamed on the consumer's hello.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";

afterEach(killLeftovers);

test("Client(sock, timeout=None).mutate raised TypeError once the mutation was journaled (the caller saw a failure), and timeout=-1, nan or '10' raised 'consumer sent an unusable hello': None waits without a limit, a bad timeout is a ValueError before connecting", async () => {
  const init = await initForPython();
  const script = `
import json, sys
from vector_boot_evolution import Client, ReconnectingClient
def error(f):
    try:
        r = f()
    except Exception as e:
        return [type(e).__name__, str(e)]
    if isinstance(r, Client):
        r.close()
        return ["returned", "Client"]
    return ["returned", [r.status_name, r.journal_seq]]
T = "pixel.1.bias"
S = sys.argv[1]
def with_none():
    with Client(S, timeout=None) as c:
        return c.mutate(T, 0, [0.25], 0.95)
def batch_none():
    with Client(S, timeout=None) as c:
        return c.submit_batch([(T, 1, [0.5], 0.95)])[0]
def reconnecting_none():
    with ReconnectingClient(S, timeout=None) as rc:
        return rc.mutate(T, 2, [0.75], 0.95)
def bad(t):
    return lambda: Client(S, timeout=t)
out = [error(with_none), error(batch_none), error(reconnecting_none)] + [error(bad(t)) for t in (-1, 0, float("nan"), "10", True)]
with Client(S, timeout=20) as c:
    last = c.mutate(T, 3, [1.0], 0.95)
print(json.dumps({"out": out, "last": [last.status_name, last.journal_seq]}))
`;
  const r = init.runPython(script);
  expect(r.stderr).toBe("");
  const { out, last } = JSON.parse(r.stdout.trim());
  const refused = (t: string) => ["ValueError", `timeout must be a positive number of seconds or None (no limit), got ${t}`];
  expect(out).toEqual([["returned", ["ACCEPTED", 1]], ["returned", ["ACCEPTED", 2]], ["returned", ["ACCEPTED", 3]], refused("-1"), refused("0"), refused("nan"), refused("'10'"), refused("True")]);
  expect(last).toEqual(["ACCEPTED", 4]); // nothing else was journaled
}, 120_000);
