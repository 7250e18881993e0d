// vb-evolve's values argument: "1,,2" was taken as 1,2 (the empty element dropped, every later value one element early).
import { expect, test } from "bun:test";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

/** `python -m vector_boot_evolution mutate ...` against a socket that does not exist: only the arguments are read. */
function vbEvolve(values: string): { code: number; err: string } {
  const r = Bun.spawnSync([python, "-m", "vector_boot_evolution", "--socket", "/nonexistent/evolution.sock", "mutate", "pixel.0.weight", "0", values, "--confidence", "0.9"], {
    env: { ...process.env, PYTHONPATH: shippedPython },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  return { code: r.exitCode ?? -1, err: r.stderr.toString() };
}

test("vb-evolve took --values 1,,2 as 1,2 (every value after the gap one element early), and 1_0 as 10: a usage error now", () => {
  for (const [values, bad] of [["1,,2", "''"], ["", "''"], ["1_0", "'1_0'"]] as const) {
    const r = vbEvolve(values);
    expect(r.code).toBe(2); // argparse's usage error, before any connection
    expect(r.err).toContain(`${bad} is not a decimal number`);
  }
  // Well-formed values get past the arguments (and fail only at the missing socket); nan and inf
  // too: the gate answers NON_FINITE for them.
  for (const values of ["0.5, -1.25,3e-2", "nan", "1,-inf"]) {
    const ok = vbEvolve(values);
    expect(ok.err).toContain("cannot reach the evolution channel");
    expect(ok.err).not.toContain("decimal number");
  }
});
