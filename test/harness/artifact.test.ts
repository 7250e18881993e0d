// The harness itself: a build-tree path that leaks into a run-time lookup fails under it (it passed in the checkout before).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { hidden, root, runShippedAsync, tempDir } from "./artifact.ts";

test("a compiled program that reads a file by its build-tree path works in the checkout and fails under the harness", () => {
  const out = join(tempDir("leak-"), "leaky");
  const b = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", join(root, "test/harness/fixtures/leaky-lookup.ts"), "--outfile", out], { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  expect(b.exitCode).toBe(0);
  // Where it was built, the leak goes unnoticed...
  const direct = Bun.spawnSync([out], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  expect(direct.stdout.toString()).toBe("found the build tree\n");
  expect(direct.exitCode).toBe(0);
  // ...the harness hides the checkout, so the same binary fails, naming the build path it looked up.
  const shipped = Bun.spawnSync(hidden([out]), { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  expect(shipped.stderr.toString()).toContain(join(root, "test/harness/fixtures/leaky-lookup.txt"));
  expect(shipped.exitCode).toBe(1);
}, 150_000);

test("runShippedAsync ran the executable in the test's working directory (the checkout): a relative path read a hidden file through it", async () => {
  expect(process.cwd()).toBe(root); // bun test runs from the checkout
  const r = await runShippedAsync(["inspect", "package.json"]);
  expect(r.err).toContain("cannot read package.json: ENOENT");
  expect(r.code).toBe(64);
});
