// ControlClient.mutate with NaN or Infinity sent `NaN` in its JSON line (not JSON): the init answered with a parse error about the line, not about the value.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers } from "../pid1/harness.ts";
import { initForPython } from "./python-against-init.ts";
import { PY_ERROR } from "./python-error.ts";

afterEach(killLeftovers);

test("ControlClient.mutate(T, 0, [nan], c) sent NaN inside its JSON line, and the init answered that the line was not JSON: a ValueError naming the value's index before anything is sent, and the connection still serves the next request", async () => {
  const init = await initForPython();
  const script = `
import json, math, sys
from vector_boot_evolution import ControlClient
${PY_ERROR}with ControlClient(sys.argv[2], timeout=20) as cc:
    errors = [error(lambda: cc.mutate("pixel.1.bias", 0, v, 0.95)) for v in ([math.nan], [0.5, math.inf], [-math.inf])]
    ok = cc.mutate("pixel.1.bias", 0, [0.25], 0.95)
print(json.dumps({"errors": errors, "ok": ok}))
`;
  const r = init.runPython(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  expect(out.errors).toEqual([
    ["ValueError", "values[0] is nan: a mutation's values must be finite (JSON has no NaN or Infinity)"],
    ["ValueError", "values[1] is inf: a mutation's values must be finite (JSON has no NaN or Infinity)"],
    ["ValueError", "values[0] is -inf: a mutation's values must be finite (JSON has no NaN or Infinity)"],
  ]);
  expect(out.ok).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
}, 120_000);

test("ControlClient.mutate with a NaN or infinite confidence (or offset) still sent NaN in its JSON line (parse_error about the line): a ValueError naming the argument, nothing sent", async () => {
  const init = await initForPython();
  const script = `
import json, math, sys
from vector_boot_evolution import ControlClient
${PY_ERROR}with ControlClient(sys.argv[2], timeout=20) as cc:
    errors = [error(lambda: cc.mutate("pixel.1.bias", 0, [0.5], math.nan)), error(lambda: cc.mutate("pixel.1.bias", 0, [0.5], math.inf)), error(lambda: cc.mutate("pixel.1.bias", math.inf, [0.5], 0.95))]
print(json.dumps({"errors": errors}))
`;
  const r = init.runPython(script);
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout.trim()).errors).toEqual([
    ["ValueError", "confidence is nan: it must be finite (JSON has no NaN or Infinity)"],
    ["ValueError", "confidence is inf: it must be finite (JSON has no NaN or Infinity)"],
    ["ValueError", "offset is inf: it must be finite (JSON has no NaN or Infinity)"],
  ]);
}, 120_000);
