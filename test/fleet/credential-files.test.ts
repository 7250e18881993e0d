// TLS and password files named by the fleet section: a FIFO held the init's event loop in open() (a fleet node hung,
// beat included); a path that is not a regular file is refused at once, naming it.
import { expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { mkfifo } from "../harness/fifo.ts";
import { tempDir } from "../pid1/harness.ts";

test("a TLS file that is a FIFO hung the fleet client in open(): refused when the client is made", () => {
  const p = mkfifo(tempDir());
  expect(() => new EtcdClient({ endpoints: ["http://127.0.0.1:9"], tls: { ca: p } })).toThrow(`${p} is a FIFO, not a regular file`);
});

test("a password file that is a FIFO hung the first etcd call in open(): the call fails naming it", async () => {
  const p = mkfifo(tempDir());
  const c = new EtcdClient({ endpoints: ["http://127.0.0.1:9"], auth: { user: "root", password_file: p }, callTimeoutMs: 2000 });
  const t0 = performance.now();
  await expect(c.get("/x")).rejects.toThrow(`${p} is a FIFO, not a regular file`);
  expect(performance.now() - t0).toBeLessThan(5_000);
});
