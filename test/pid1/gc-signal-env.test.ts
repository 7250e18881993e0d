// JSC_SIGNAL_FOR_GC="40x" was signal 40 for the C side (the pre-init, a re-exec) and SIGPWR for the init's two TypeScript readers.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { gcSignal, Sig } from "../../src/sys/signals.ts";
import { compileC } from "../harness/compile-c.ts";
import { root, tempDir } from "./harness.ts";

const PROGRAM = `
#include <stdio.h>
#include "carried-signals.h"
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    sigset_t set;
    vb_carried_signals(&set, argv[i]);
    printf("%d\\n", sigismember(&set, SIGPWR));
  }
  return 0;
}
`;

test("JSC_SIGNAL_FOR_GC is read the same by the C side and the init: SIGPWR carried across an exec exactly when the init takes it for moved", () => {
  const values = ["40", "40x", " 40", "+40", "0x28", "030", "", "abc", "0", "-40", "30", "64", "65", "4000000000", "\t35 "];
  const exe = compileC(tempDir(), "carried", PROGRAM, ["-O1", `-I${join(root, "native")}`]);
  const r = Bun.spawnSync([exe, ...values], { stdout: "pipe" });
  expect(r.exitCode).toBe(0);
  const carried = r.stdout.toString().trim().split("\n").map((l) => l === "1");
  const moved = values.map((v) => gcSignal(v) !== Sig.SIGPWR);
  expect(Object.fromEntries(values.map((v, i) => [v, moved[i]]))).toEqual(Object.fromEntries(values.map((v, i) => [v, carried[i]])));
  expect(gcSignal("40x")).toBe(40);
  expect(gcSignal("0x28")).toBe(Sig.SIGPWR);
  expect(gcSignal(undefined)).toBe(Sig.SIGPWR);
});
