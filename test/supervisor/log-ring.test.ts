// The per-service log ring: pages that fit one control reply, read from a cursor without losing or repeating a line.
import { expect, test } from "bun:test";
import { LogRing } from "../../src/supervisor/log-ring.ts";

test("a ring read was one reply of any size (binary lines escape to six bytes a byte, over the control socket's 1 MiB): pages now fit the budget and, followed by `next`, give every line once, in order", () => {
  const ring = new LogRing();
  const binary = String.fromCharCode(...Array.from({ length: 4000 }, (_, i) => ((i * 7) % 32 === 10 ? 0 : (i * 7) % 32)));
  const want: string[] = [];
  for (let i = 0; i < 200; i++) want.push(...ring.push(`${i} ${binary}\nplain ${i}\n`).map((l) => l.line));
  const budget = 100 * 1024;
  const got: string[] = [];
  let page = ring.read(0, 100_000, budget);
  let pages = 1;
  got.push(...page.lines.map((l) => l.line));
  while (page.more) {
    expect(new TextEncoder().encode(JSON.stringify(page)).length).toBeLessThanOrEqual(budget);
    page = ring.read(page.next, 100_000, budget);
    got.push(...page.lines.map((l) => l.line));
    pages++;
  }
  expect(pages).toBeGreaterThan(10);
  expect(got).toEqual(want);
  expect(page.next).toBe(400);
  // A tail of N without a cursor starts at the Nth newest line, and goes on from its `next`.
  const tail = ring.read(0, 3, budget);
  expect(tail.lines.map((l) => l.seq)).toEqual([398, 399, 400]);
  expect(tail.more).toBeUndefined();
  // One line over the budget still comes (a page never stalls).
  const one = ring.read(0, 100_000, 10);
  expect(one.lines.length).toBe(1);
  expect(one.more).toBe(true);
  expect(one.next).toBe(one.lines[0]!.seq);
});
