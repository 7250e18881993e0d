// `vector-boot pixels` of the shipped executable (checkout hidden): seed output, --json, bad pixels and a bad model get their exit codes.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, runShipped, tempDir } from "../harness/artifact.ts";

let dir = "";
let model = "";

/** `vector-boot pixels ARGS`, the shipped executable. */
function pixels(args: string[]) {
  const r = runShipped(["pixels", ...args]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  // The model lives outside the checkout: the executable cannot see the checkout.
  dir = tempDir("vb-pixels-cli-");
  model = join(dir, "m.gguf");
  const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", model], { stderr: "pipe", timeout: 30_000 });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
});

describe("vector-boot pixels", () => {
  test("prints the seed's 1 and a 16-value result for the seed pixels", () => {
    const r = pixels(["--model", model, "72,101,108", "101,108,108", "108,111,111", "250,255,0"]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("1");
    expect(lines[1]).toMatch(/^pixels: 4 {2}top: \d+ /);
    expect(lines[2]!.replace("result: ", "").split(" ").length).toBe(16);
  });

  test("--json gives one machine-readable object", () => {
    const r = pixels(["--model", model, "--json", "0,0,0"]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { ok: boolean; pixels: number; output: number[]; model: string };
    expect(j).toMatchObject({ ok: true, pixels: 1, model: "vectorland-default" });
    expect(j.output.length).toBe(16);
  });

  test("a channel out of range exits 65 with the pixel named", () => {
    const r = pixels(["--model", model, "1,2,3", "4,300,6"]);
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/pixel 1 channel g: 300 is out of range 0..255/);
  });

  test("a malformed triple and a missing pixel list are usage or input errors, not stack traces", () => {
    const a = pixels(["--model", model, "1,2"]);
    expect(a.code).toBe(65);
    expect(a.err).toMatch(/"1,2" is not R,G,B/);
    const b = pixels(["--model", model]);
    expect(b.code).toBe(64);
    expect(b.err).toMatch(/at least one pixel/);
    // One line, not zod's issues pretty-printed as JSON.
    expect(b.err.trim().split("\n")).toHaveLength(1);
    // Said once (it was "X <- caused by: invalid input: X"), by the commands' one argument parser.
    expect(b.err).toContain("pixels: arguments: give at least one pixel as R,G,B (see vector-boot pixels --help)");
    expect(b.err.match(/give at least one pixel/g)).toHaveLength(1);
  });

  test("a file that is not a vectorland model exits 2 (the seed's model failure)", () => {
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, "GGUF\x03\x00\x00\x00 not really");
    const r = pixels(["--model", bad, "1,2,3"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/GGUF/);
  });

  test("--help prints the usage and exits 0", () => {
    const r = pixels(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: vector-boot pixels/);
  });
});
