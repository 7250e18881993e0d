// A poweroff and a reboot from two operators read in the same turn of the server: the reboot was answered before the
// poweroff reached the target (the target hears of it only after its reply), so both said "requested".
import { afterEach, expect, test } from "bun:test";
import type { ControlServer } from "../../src/control/server.ts";
import { RawClient, startServer, StubTarget } from "./harness.ts";

let server: ControlServer | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** A target that, like the running init, keeps the first shutdown request and reports it. */
class InitLikeTarget extends StubTarget {
  first: { reason: string; mode: string } | null = null;
  override shutdown(mode: "poweroff" | "reboot") {
    super.shutdown(mode);
    this.first ??= { reason: `control socket: ${mode}`, mode };
  }
  shutdownUnderway() {
    return this.first;
  }
}

test("a poweroff and a reboot read in the same turn were both answered as requested (the reboot was then ignored); the second is refused busy", async () => {
  const t = new InitLikeTarget();
  // No wake signal and no poll of its own: the server reads when pumped here, both lines in one turn.
  const s = startServer(t, { wakeSignal: null, housekeepingMs: 60_000 });
  server = s.server;
  const a = await RawClient.connect(s.path);
  const b = await RawClient.connect(s.path);
  await Bun.sleep(50);
  s.server.pump(); // accepts both
  // Warm up (the first request parses the schema: a pump yields after 2 ms of work).
  for (const c of [a, b]) c.write('{"op":"ping"}\n');
  await Bun.sleep(50);
  s.server.pump();
  await Promise.all([a.expectLines(1), b.expectLines(1)]);
  a.lines.length = 0;
  b.lines.length = 0;
  a.write('{"id":"a","op":"poweroff"}\n');
  b.write('{"id":"b","op":"reboot"}\n');
  await Bun.sleep(50);
  s.server.pump(); // reads both
  const pumping = setInterval(() => s.server.pump(), 10);
  const [ra] = (await a.expectLines(1)) as Array<{ ok: boolean; error?: { code: string } }>;
  const [rb] = (await b.expectLines(1)) as Array<{ ok: boolean; error?: { code: string } }>;
  clearInterval(pumping);
  expect([ra!.ok, rb!.ok].sort()).toEqual([false, true]);
  expect((ra!.ok ? rb! : ra!).error!.code).toBe("busy");
  expect(t.calls.filter((c) => c.startsWith("shutdown"))).toHaveLength(1);
  a.destroy();
  b.destroy();
});
