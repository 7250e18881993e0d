// vb-evolve's answers to what it cannot send: a traceback (struct.error, OverflowError, JSONDecodeError) used to be all it said.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

test("vb-evolve: an offset beyond 64 bits, a name or value list the slot cannot hold, a bad batch line or timeout were tracebacks; a finite value beyond float32 crashed instead of reaching the gate", async () => {
  const d = tempDir("vb-pyerr-");
  dirs.push(d);
  const evo = await openEvolution({ stateDir: join(d, "state"), runDir: join(d, "run"), loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3) });
  // Async: the consumer drains in this process while the client waits.
  const vb = (args: string[], stdin?: string) => {
    const file = join(d, "batch.jsonl");
    if (stdin !== undefined) writeFileSync(file, stdin);
    return runAsync([python, "-m", "vector_boot_evolution", "--socket", evo.socketPath, ...args.map((a) => (a === "BATCH" ? file : a))], { env: { ...process.env, PYTHONPATH: shippedPython }, timeoutMs: 30_000 });
  };
  try {
    const usage: Array<[string[], string]> = [
      [["mutate", "pixel.w", "99999999999999999999", "0.5", "--confidence", "0.9"], "vb-evolve mutate: offset must be a whole number 0..2**64-1"],
      [["mutate", "x".repeat(100), "0", "0.5", "--confidence", "0.9"], "vb-evolve mutate: tensor name must be 1..64 UTF-8 bytes"],
      [["mutate", "pixel.w", "0", Array(101).fill("1").join(","), "--confidence", "0.9"], "vb-evolve mutate: 1..100 values per mutation"],
      [["mutate", "pixel.w", "-1", "0.5", "--confidence", "0.9"], "'-1' is not a whole number >= 0"],
      [["--timeout", "-1", "info"], "'-1' is not a positive number of seconds"],
      [["batch", join(d, "missing.jsonl")], "vb-evolve batch: [Errno 2] No such file or directory"],
    ];
    for (const [args, message] of usage) {
      const r = await vb(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toContain(message);
      expect(r.err).not.toContain("Traceback");
    }
    // A batch is read and checked whole before anything is sent: a bad line names itself and submits nothing.
    const good = JSON.stringify({ tensor: "pixel.w", offset: 0, values: [1], confidence: 0.9 });
    for (const [bad, message] of [
      ["not json", "line 2: not JSON"],
      [JSON.stringify({ tensor: "pixel.w" }), "line 2: missing confidence, offset, values"],
      [JSON.stringify({ tensor: "pixel.w", offset: 0, values: [1], confidence: 0.9, extra: 1 }), "line 2: unknown extra"],
      [JSON.stringify({ tensor: "pixel.w", offset: 1.5, values: [1], confidence: 0.9 }), "line 2: offset must be a whole number"],
      [JSON.stringify({ tensor: "pixel.w", offset: 0, values: ["a"], confidence: 0.9 }), "line 2: values[0] must be a number, got 'a'"],
      [JSON.stringify({ tensor: "pixel.w", offset: 0, values: [1], confidence: true }), "line 2: confidence must be a number"],
      // The slot's limits: the lines before a too-long one were sent (and journaled) first.
      [JSON.stringify({ tensor: "pixel.w", offset: 0, values: [], confidence: 0.9 }), "line 2: 1..100 values per mutation"],
      [JSON.stringify({ tensor: "pixel.w", offset: 0, values: Array(101).fill(1), confidence: 0.9 }), "line 2: 1..100 values per mutation"],
      [JSON.stringify({ tensor: "x".repeat(65), offset: 0, values: [1], confidence: 0.9 }), "line 2: tensor name must be 1..64 UTF-8 bytes"],
    ] as const) {
      const r = await vb(["batch", "BATCH"], `${good}\n${bad}\n`);
      expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
      expect(r.err).toContain(`vb-evolve batch: ${message}`);
      expect(r.err).not.toContain("Traceback");
    }
    expect(evo.stats().appliedSeq).toBe(0);
    // 1e39 is finite but beyond float32: it becomes the infinity float32 gives it, and the gate says so (as `vector-boot mutate` does).
    const inf = await vb(["mutate", "pixel.w", "0", "1e39", "--confidence", "0.9"]);
    expect(inf.code).toBe(1);
    expect(JSON.parse(inf.out)).toEqual({ status: "NON_FINITE", journal_seq: 0, text: "value Infinity" });
    // The largest value float32 keeps finite still goes through, and a good batch still works.
    const edge = await vb(["mutate", "pixel.w", "0", "3.4028234e38", "--confidence", "0.9"]);
    expect(JSON.parse(edge.out).status).toBe("MAGNITUDE");
    const ok = await vb(["batch", "BATCH"], `${good}\n${good}\n`);
    expect(ok.code).toBe(0);
    expect(ok.out.trim().split("\n").map((l) => JSON.parse(l).status)).toEqual(["ACCEPTED", "ACCEPTED"]);
  } finally {
    await evo.close();
  }
}, 120_000);

test("the Python control client run as a script: JSON-FIELDS that are not a JSON object were a traceback; a usage error line (exit 64) now, before any connection", async () => {
  const script = join(shippedPython, "vector_boot_evolution/control.py");
  for (const [fields, message] of [["{bad", "JSON-FIELDS not JSON"], ["[1]", "JSON-FIELDS must be a JSON object"]] as const) {
    const r = await runAsync([python, script, "--socket", "/nonexistent/control", "mutate", fields], { timeoutMs: 30_000 });
    expect({ fields, code: r.code }).toEqual({ fields, code: 64 });
    expect(JSON.parse(r.err)).toEqual({ code: "usage", message: expect.stringContaining(message) });
  }
  // Well-formed fields get as far as the (missing) socket.
  const ok = await runAsync([python, script, "--socket", "/nonexistent/control", "status", "{}"], { timeoutMs: 30_000 });
  expect(ok.code).toBe(2);
  expect(JSON.parse(ok.err).code).toBe("os_error");
}, 60_000);
