// TLS and password files named by the fleet section: a FIFO held the init's event loop in open() (a fleet node hung,
// beat included); a path that is not a regular file is refused at once, naming it. Outside PID 1 a bad one ends the boot (78).
import { expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { mkfifo } from "../harness/fifo.ts";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

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

test("a missing TLS file outside PID 1 logged 'fleet disabled' and booted on (exit 0): exit 78 naming fleet.tls.ca; PID 1 logs it and boots on", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { fleet: { endpoints: ["http://127.0.0.1:9"], tls: { ca: "/nonexistent/ca.pem" } } });
  // shutdown_after: a boot that goes on ends by itself (exit 0) instead of hanging the test.
  const args = ["boot", "--config", cfg, "--set", "pixel_test=0", "--set", "shutdown_after=3", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`];
  const r = await start(args).result(30_000);
  expect(r.code).toBe(78);
  expect(r.stderr).toContain("fleet.tls.ca: cannot read /nonexistent/ca.pem");
  const pid1 = start(["boot", "--config", cfg, "--set", "pixel_test=0", "--set", "shutdown_after=3"], { pid1: true });
  await waitFor(() => pid1.log().includes("first heartbeat"), 20_000, "PID 1 to beat");
  // The fleet phase comes after the heartbeat's (its chunk loaded then): its line may follow the first beat's.
  await waitFor(() => pid1.log().includes("fleet disabled"), 20_000, "the fleet phase's line");
  expect(pid1.log()).toContain("fleet disabled: cannot set up the etcd client error=\"fleet.tls.ca: cannot read /nonexistent/ca.pem");
  killLeftovers();
}, 60_000);
