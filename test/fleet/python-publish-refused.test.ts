// The Python FleetClient against a real etcd that refuses a write for good (HTTP 400, request too large): it retried it until its wait ran out.
import { expect, test } from "bun:test";
import { runAsync, shippedPython } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { useCluster } from "./fleet-harness.ts";

const etcd = useCluster();

test("FleetClient.publish of a mutation etcd refuses (HTTP 400 'etcdserver: request is too large': a value over its 1.5 MiB request limit) sent the same txn again until `wait` ran out and raised a plain FleetError; it raises FleetRefusedError after one call, naming the status and etcd's message, and the same client publishes the next mutation", async () => {
  // 65,536 values (the most a fleet mutation holds), each 24 characters long in JSON, make a stored value
  // of about 1.7 MB: over etcd's request limit (1.5 MiB), under gRPC's message limit (2 MiB, a 429).
  const script = `
import json, sys
from vector_boot_evolution import FleetClient, FleetError, FleetRefusedError
c = FleetClient(sys.argv[1], "pyrefused", call_timeout=5)
calls = []
call = c.call
def counted(path, body, timeout=None):
    calls.append(path)
    return call(path, body, timeout)
c.call = counted
try:
    c.publish("pixel.0.weight", 0, [-2.2250738585072014e-308] * 65536, 0.9, mutation_id="huge", wait=10)
    refused = ["published"]
except FleetRefusedError as e:
    refused = [type(e).__name__, e.status, e.etcd_message, str(e), isinstance(e, FleetError)]
except FleetError as e:
    refused = [type(e).__name__, str(e)]
refused_calls = list(calls)
small = c.publish("pixel.0.weight", 0, [0.5], 0.9, mutation_id="small", wait=10)
print(json.dumps({"refused": refused, "calls": refused_calls, "small": small["created"]}))
`;
  const r = await runAsync([python, "-c", script, etcd.cluster.endpoints.join(",")], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 60_000 });
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  const out = JSON.parse(r.out);
  expect(out.refused).toEqual(["FleetRefusedError", 400, "etcdserver: request is too large", expect.stringMatching(/^etcd \/v3\/kv\/txn at http:\/\/127\.0\.0\.1:\d+: HTTP 400: etcdserver: request is too large/), true]);
  expect(out.calls).toEqual(["/v3/kv/txn"]);
  expect(out.small).toBe(true);
  // Nothing of it stored.
  expect((await etcd.client.get("/vector-boot/pyrefused/mutations/huge")).kvs).toEqual([]);
}, 90_000);
