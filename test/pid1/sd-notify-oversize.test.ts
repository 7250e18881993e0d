// An sd_notify datagram over 4096 bytes was cut at the buffer and applied as far as it went: READY=1 past the cut was lost without a word.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

test("an sd_notify message over 4096 bytes was cut and applied in part (its READY=1 past the cut lost without a word, a cut STATUS shown); it is dropped whole with a line saying so, as systemd drops it", async () => {
  const dir = tempDir();
  const script = join(dir, "long.py");
  // One datagram of 5015 bytes: a long STATUS, then READY=1 beyond byte 4096. Then a short one.
  writeFileSync(script, `import os, socket, time
def notify(msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
notify("STATUS=" + "x" * 5000 + "\\nREADY=1")
notify("STATUS=after the long one")
while True: time.sleep(1)
`);
  const { run, list } = bootServices(dir, [{ name: "chatty", argv: [python, script], ready: { notify: true, timeout_ms: 60_000 } }]);
  // The short message comes after the long one on the same socket: once it shows, the long one was read.
  await waitFor(async () => (await list())[0]?.statusText === "after the long one", 25_000, "the short STATUS after the long message", { pollMs: 200 });
  const row = (await list())[0]!;
  // Not made ready by half a message; and the init said why nothing came of it.
  expect(row).toMatchObject({ state: "starting", ready: false });
  expect(run.log()).toMatch(/WARN notify: sd_notify message over 4096 bytes; dropped \(as systemd drops it\) pid=\d+ bytes=5015/);
  expect(run.log()).not.toContain("service ready service=chatty");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);
