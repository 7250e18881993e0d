// FleetClient: an endpoint that answered something other than HTTP, or cut its answer short, raised http.client's BadStatusLine / IncompleteRead (no FleetError, naming no endpoint) and publish neither retried nor failed over.
import { expect, test } from "bun:test";
import { pythonWithFleetStandIn } from "./python-fleet-stand-in.ts";

test("FleetClient.publish through an endpoint that is not HTTP (a line of SSH) or that cut its answer short raised http.client.BadStatusLine / IncompleteRead, naming no endpoint, and did not fail over: it is a FleetError naming the endpoint, and publish moves on to the next endpoint", () => {
  // The stand-in for etcd's gateway answers every txn "created" (good), as in the other fleet client
  // tests; two endpoints are not etcd: one answers a line of another protocol, one a truncated body.
  const script = `
import socket
good = url
def raw(answer):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    def serve():
        while True:
            c, _ = s.accept()
            # The whole request read first: closed with some of it unread, the client would get a reset.
            data, chunk = b"", b"-"
            while chunk and b"\\r\\n\\r\\n" not in data:
                chunk = c.recv(65536)
                data += chunk
            head, body = data.split(b"\\r\\n\\r\\n", 1)
            size = int([l.split(b":")[1] for l in head.lower().split(b"\\r\\n") if l.startswith(b"content-length:")][0])
            while chunk and len(body) < size:
                chunk = c.recv(65536)
                body += chunk
            c.sendall(answer)
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    return "http://127.0.0.1:%d" % s.getsockname()[1]
ssh = raw(b"SSH-2.0-OpenSSH_9.6\\r\\n")
cut = raw(b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: 100\\r\\n\\r\\n{\\"header\\": ")
def publish(endpoints, wait):
    return attempt(lambda: FleetClient(endpoints, "f", call_timeout=5).publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="m1", wait=wait)["created"])
print(json.dumps({
    "ssh": ssh, "cut": cut,
    "failover": [publish([ssh, good], 30), publish([cut, good], 30), publish([ssh, cut, good], 30)],
    "alone": [publish([ssh], 0.05), publish([cut], 0.05)],
}))
`;
  const r = pythonWithFleetStandIn(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  expect(out.failover).toEqual([["ok", true], ["ok", true], ["ok", true]]);
  expect(out.alone).toEqual([
    ["FleetError", `etcd /v3/kv/txn at ${out.ssh}: no usable HTTP answer (BadStatusLine 'SSH-2.0-OpenSSH_9.6\\r\\n')`],
    ["FleetError", `etcd /v3/kv/txn at ${out.cut}: no usable HTTP answer (IncompleteRead(11 bytes read, 89 more expected))`],
  ]);
});
