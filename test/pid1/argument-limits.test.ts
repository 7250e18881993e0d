// The shim refused more than 4096 arguments or environment variables (E2BIG, "resolving the command failed") where tini and the kernel take them.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, start } from "./harness.ts";

afterEach(killLeftovers);

test("CMD gets 5000 arguments and 5000 environment variables (a big Kubernetes namespace's service variables), as from tini", async () => {
  const args = Array.from({ length: 5000 }, (_, i) => `a${i}`);
  const env = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`VB_MANY_${i}`, String(i)]));
  const r = await start(["--", "sh", "-c", 'echo "$# $VB_MANY_4999 $(env | grep -c ^VB_MANY_)"', "sh", ...args], { env, pid1: true }).result(20_000);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("5000 4999 5000\n");
});
