// `vector-boot logs -n N`: 0 was refused as "not a whole number", and more than the server's page (100000) was sent and refused by the server.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("logs -n 0 (as tail -n 0) prints nothing, and with -f only the lines that come after; -n 100001 is a usage error before anything is sent", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [{ name: "count", argv: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.05; done"] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const sock = join(dir, "run", "control");
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const logs = (...args: string[]) => runShippedAsync(["logs", "count", "--socket", sock, ...args]);
  await waitFor(async () => (await logs("-n", "3")).out.trim().split("\n").length === 3, 10_000, "three lines", { pollMs: 100 });
  const none = await logs("-n", "0");
  expect(none.code).toBe(0);
  expect(none.out).toBe("");
  const big = await logs("-n", "100001");
  expect(big.code).toBe(64);
  expect(big.err).toContain("needs a whole number of lines, 0 to 100000");
  // -f -n 0: the first line printed comes after the newest one when it started.
  const numberOf = (l: string) => Number(/^line (\d+)$/.exec(l)![1]);
  const before = numberOf((await logs("-n", "1")).out.trim());
  const f = spawnShipped(["logs", "count", "--socket", sock, "-f", "-n", "0"]);
  const reader = f.stdout.getReader();
  let text = "";
  while (text.split("\n").filter(Boolean).length < 2) text += new TextDecoder().decode((await reader.read()).value);
  f.kill();
  const printed = text.split("\n").filter(Boolean).map(numberOf);
  expect(printed[0]!).toBeGreaterThan(before);
  for (let i = 1; i < printed.length; i++) expect(printed[i]).toBe(printed[i - 1]! + 1);
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
