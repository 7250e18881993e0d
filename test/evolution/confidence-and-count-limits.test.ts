// The two ways in agree on the limits: confidence is a probability in (0.8, 1] on the shared-memory channel too, and at most 100 values per mutation on the control socket too.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { controlRequest } from "../../src/control/client.ts";
import { pythonMutate } from "./shipped-cli.ts";

afterEach(killLeftovers);

test("the shared-memory gate accepted (and journaled) confidence 2 and infinity that the control socket refuses; a control mutate of 101 values was documented as allowed and always refused", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { pixel_test: false, state_dir: join(dir, "state"), run_dir: join(dir, "run") });
  const run = start(["boot", "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const evo = join(dir, "run", "evolution.sock");
  for (const c of ["2", "inf", "1e308"]) {
    const r = pythonMutate(evo, ["pixel.1.bias", "0", "0.5", "--confidence", c]);
    expect({ c, status: r.json.status, seq: r.json.journal_seq }).toEqual({ c, status: "LOW_CONFIDENCE", seq: 0 });
  }
  expect(pythonMutate(evo, ["pixel.1.bias", "0", "0.5", "--confidence", "1"]).json).toMatchObject({ status: "ACCEPTED", journal_seq: 1 });
  // 101 values: the command refuses it before sending, the socket names the limit.
  const many = Array.from({ length: 101 }, () => "0.1").join(",");
  const cli = runShipped(["mutate", "pixel.0.weight", "0", "--values", many, "--confidence", "0.9", "--socket", join(dir, "run", "control")]);
  expect(cli.code).toBe(64);
  expect(cli.stderr).toContain("at most 100 values per mutation");
  const err = (await controlRequest({ op: "mutate", tensor: "pixel.0.weight", offset: 0, values: Array(101).fill(0.1), confidence: 0.9 }, { path: join(dir, "run", "control") }).catch((e) => e)) as Error & { code?: string };
  expect(err.code).toBe("invalid_request");
  expect(err.message).toContain("100");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
