// A development boot's own directory (mkdtemp, no state_dir/run_dir configured): a live re-exec made a new one (the acknowledged mutation was lost, the sockets moved), and every boot left it behind.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

const scratchDirs = (tmp: string): string[] => readdirSync(tmp).filter((f) => f.startsWith("vector-boot-"));

test("a development boot's live re-exec kept its directory: the acknowledged mutation is replayed and the control socket stays where its clients know it", async () => {
  const tmp = tempDir("dev-tmp-");
  const run = start(["boot", "--set", "heartbeat_log_every=0", "--set", "pixel_test=0"], { env: { TMPDIR: tmp } });
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const socket = /control socket listening path=(\S+)/.exec(run.log())![1]!;
  expect(scratchDirs(tmp).length).toBe(1);

  const m = await runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", socket], 30_000);
  expect({ code: m.code, err: m.err, out: m.out.trim() }).toEqual({ code: 0, err: "", out: "accepted: journal sequence 1" });
  const r = await runShippedAsync(["reexec", "--socket", socket], 60_000);
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  await waitFor(() => run.log().includes("resuming after re-exec generation=1"), 30_000, "the new image");
  await waitFor(() => run.log().lastIndexOf("control socket listening") > run.log().indexOf("resuming after re-exec"), 30_000, "the new image's control socket");

  const configLines = run.log().match(/phase config .*state_dir=(\S+)/g)!;
  expect(configLines.length).toBe(2);
  expect(new Set(configLines.map((l) => /state_dir=(\S+)/.exec(l)![1])).size).toBe(1);
  expect(run.log()).toMatch(/resuming after re-exec[\s\S]*weights ready checkpoint=\S+ replayed=1 /);
  expect(scratchDirs(tmp).length).toBe(1);
  // The same socket answers, and the second mutation follows the first in the same journal.
  const m2 = await runShippedAsync(["mutate", "pixel.1.bias", "1", "--values", "0.25", "--confidence", "0.9", "--socket", socket], 30_000);
  expect({ code: m2.code, err: m2.err, out: m2.out.trim() }).toEqual({ code: 0, err: "", out: "accepted: journal sequence 2" });

  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
  // Its state (the journal) stays for inspection; its run directory goes.
  const [dir] = scratchDirs(tmp);
  expect(readdirSync(join(tmp, dir!))).toEqual(["state"]);
}, 180_000);

test("a development boot with its own state_dir left an empty directory (its run dir) in TMPDIR on every boot: removed at the end", async () => {
  const tmp = tempDir("dev-tmp-");
  const state = join(tempDir(), "state");
  const run = start(["boot", "--set", `state_dir=${state}`, "--set", "heartbeat_log_every=0", "--set", "pixel_test=0", "--set", "shutdown_after=1"], { env: { TMPDIR: tmp } });
  expect((await run.result(30_000)).code).toBe(0);
  expect(run.log()).toContain("control socket listening");
  expect(scratchDirs(tmp)).toEqual([]);
  expect(existsSync(join(state, "journal"))).toBe(true);
}, 60_000);
