// How a control connection ends: failed after too many bad requests, pipelined past its queue, cut inside a line, and peers that hung up counted against the limit.
import { afterEach, expect, test } from "bun:test";
import type { ControlServer } from "../../src/control/server.ts";
import { waitFor } from "../harness/wait.ts";
import { RawClient, startServer, StubTarget } from "./harness.ts";

let servers: ControlServer[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

function serve(target: StubTarget, opts: Parameters<typeof startServer>[1] = {}) {
  const s = startServer(target, opts);
  servers.push(s.server);
  return s;
}

type Line = { id: unknown; ok: boolean; error?: { code: string; message: string } };

test("a restart sent in the same chunk after the 33rd bad line was carried out though the server had said 'closing', and never answered: nothing after the failing line is carried out, and the closing error says what was dropped", async () => {
  const target = new StubTarget();
  const { server, path } = serve(target);
  const c = await RawClient.connect(path);
  c.write(`${"x\n".repeat(60)}${JSON.stringify({ id: 7, op: "restart", name: "db" })}\n`);
  await c.until(() => c.closed, 5_000, "the close");
  // The server dropped the connection (linger over or hang-up seen): a request queued on it begins
  // before that or never (its queue is served while the connection is open).
  await waitFor(() => server.stats().connections === 0, 5_000, "the server to drop the connection");
  expect(target.calls).not.toContain("stop db");
  const last = c.lines.at(-1) as Line;
  expect(last.error?.message).toMatch(/^more than 32 bad requests on this connection; closing \(\d+ request\(s\) read before this were not carried out\)$/);
  expect((c.lines as Line[]).some((l) => l.id === 7)).toBe(false);
});

test("60 pipelined requests made 44 `busy` answers, which counted as bad requests: the connection was failed and the 16 requests read before them were never carried out or answered; every one is answered now, none fails the connection", async () => {
  const target = new StubTarget();
  const { path } = serve(target);
  const c = await RawClient.connect(path);
  let burst = "";
  for (let i = 0; i < 60; i++) burst += `${JSON.stringify({ id: i, op: "status" })}\n`;
  c.write(burst);
  await c.expectLines(60);
  const lines = c.lines as Line[];
  expect(lines.every((l) => l.ok || l.error?.code === "busy")).toBe(true);
  const answered = lines.filter((l) => l.ok).length;
  expect(target.calls.filter((x) => x === "status")).toHaveLength(answered);
  expect(answered).toBeGreaterThanOrEqual(16);
  expect(c.closed).toBe(false);
  c.destroy();
});

test("a stream that ended inside a line while a stop was in progress got its 'incomplete request' before the stop's answer, then was closed by the stalled-request timeout, the stop's and a queued ping's answers lost: they come first, in order, then the error, then the close", async () => {
  const target = new StubTarget();
  target.stopDelayMs = 800;
  const { path } = serve(target, { requestTimeoutMs: 300 });
  const c = await RawClient.connect(path);
  c.write(`${JSON.stringify({ id: 1, op: "stop", name: "db" })}\n${JSON.stringify({ id: 2, op: "ping" })}\n{"op":"pi`);
  await Bun.sleep(50);
  c.end();
  await c.until(() => c.closed, 5_000, "the close");
  const lines = c.lines as Line[];
  expect(lines.map((l) => [l.id, l.ok, l.error?.code ?? null])).toEqual([
    [1, true, null],
    [2, true, null],
    [null, false, "invalid_request"],
  ]);
  expect(lines[2]!.error!.message).toContain("incomplete request: 9 bytes without a newline");
});

test("32 connections closed by their peer, then one more at once: it was refused busy (the hung-up peers still counted against the limit); it is served", async () => {
  const target = new StubTarget();
  const { path } = serve(target, { maxConnections: 4 });
  for (let round = 0; round < 5; round++) {
    const gone = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(path)));
    // Each served once (accepted and registered), then closed by the peer.
    for (const g of gone) g.write(`${JSON.stringify({ id: 0, op: "ping" })}\n`);
    await Promise.all(gone.map((g) => g.expectLines(1)));
    for (const g of gone) g.destroy();
    const c = await RawClient.connect(path);
    c.write(`${JSON.stringify({ id: 1, op: "ping" })}\n`);
    const [r] = (await c.expectLines(1)) as Line[];
    expect({ round, ok: r!.ok, error: r!.error?.code ?? null }).toEqual({ round, ok: true, error: null });
    c.destroy();
  }
});
