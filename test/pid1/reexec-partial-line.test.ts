// A service's unfinished output line across a live re-exec: its first half is handed over with the pipe, the whole line logged once.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, waitFor } from "./harness.ts";
import { bootOne, liveReexec, shutDown, untilGate, untilUp } from "./live-reexec.ts";

afterEach(killLeftovers);

/**
 * Boots svc writing `first` (printf's format) in one write, then (once the test creates the gate,
 * after a live re-exec) `rest`; waits until the log matches `end`. A pipe write under 4 KiB is read
 * whole: once `l1` is logged, the rest of `first` was read too, by the old image.
 */
async function cutByReexec(first: string, rest: string, end: RegExp) {
  const b = bootOne(({ gate }) => ({ name: "svc", argv: ["sh", "-c", `exec >&2; printf '${first}'; ${untilGate(gate)}; printf '${rest}'; exec sleep 1000`] }));
  await untilUp(b.run, () => b.run.log().includes("svc: l1"), "the service's first line");
  await liveReexec(b.run, b.sock);
  writeFileSync(b.gate, "");
  await waitFor(() => end.test(b.run.log()), 30_000, "the end of the line");
  return b;
}

test("a service's unfinished output line lost its first half at a live re-exec ('hello ' before it, 'world' after it was logged as 'world'); the whole line is logged once", async () => {
  const { run, sock } = await cutByReexec("l1\\nhello ", "world\\n", /svc: (hello )?world\n/);
  // The new image's ring holds the old one's last lines (handoff 10) and what it read itself.
  expect((await runShippedAsync(["logs", "svc", "--socket", sock])).out).toBe("l1\nhello world\n");
  expect(run.log()).toContain("svc: hello world\n");
  expect(run.log()).not.toContain("svc: world\n");
  await shutDown(run);
}, 120_000);

test("a character cut by a live re-exec (its first byte read by the old image, the rest by the new one) was logged as U+FFFD: 'h' + 0xC3 before it, 0xA9 'llo' after it gave 'h\\uFFFDllo'; it is logged as 'héllo'", async () => {
  // "é" is C3 A9: one write ends after its first byte, the next (once the gate exists) begins with its second.
  const { run, sock } = await cutByReexec("l1\\nh\\303", "\\251llo\\n", /svc: .*llo\n/);
  expect((await runShippedAsync(["logs", "svc", "--socket", sock, "--json"])).out.trim().split("\n").map((l) => JSON.parse(l).line)).toEqual(["l1", "héllo"]);
  await shutDown(run);
}, 120_000);
