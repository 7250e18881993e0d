// Where the operator CLI's output goes and what its status says: a failed write to stdout, a usage error's help, verify's missing file, a shutdown already asked.
import { expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, runShippedAsync, shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { answeringSocket } from "../control/answering-socket.ts";
import { tempDir } from "../pid1/harness.ts";

const model = join(root, "../shared/fixtures/gguf/ref-s1-a32.gguf");

test("inspect --json > /dev/full (a full disk) exited 0 with nothing written: it exits 74 naming the error", async () => {
  const full = openSync("/dev/full", "w");
  try {
    const p = Bun.spawn(shipped(["inspect", "--json", model]), { stdout: full, stderr: "pipe", cwd: shippedDir, env: shippedEnv() });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    expect({ code, says: err.includes("the output could not be written: ENOSPC") }).toEqual({ code: 74, says: true });
  } finally {
    closeSync(full);
  }
  // --version too (it wrote past the stream's check).
  const again = openSync("/dev/full", "w");
  try {
    const p = Bun.spawn(shipped(["--version"]), { stdout: again, stderr: "pipe", cwd: shippedDir, env: shippedEnv() });
    expect(await p.exited).toBe(74);
  } finally {
    closeSync(again);
  }
}, 60_000);

test("`vector-boot` and `vector-boot fleet` with no command printed their help on stdout with exit 64: a usage error's help goes to stderr", async () => {
  for (const args of [[], ["fleet"]]) {
    const r = await runShippedAsync(args);
    expect({ args, code: r.code, out: r.out, help: r.err.includes("Usage:") }).toEqual({ args, code: 64, out: "", help: true });
  }
}, 60_000);

test("verify with one missing file stopped before checking any (exit 64, nothing printed): every file is reported, the missing one with exit 64", async () => {
  const junk = join(tempDir(), "junk");
  writeFileSync(junk, "junk\n");
  const r = await runShippedAsync(["verify", "/nonexistent/model.rts", junk, "--json"]);
  const lines = r.out.trim().split("\n").map((l) => JSON.parse(l) as { path: string; ok: boolean; exit: number });
  expect(lines.map((l) => [l.path, l.ok, l.exit])).toEqual([
    ["/nonexistent/model.rts", false, 64],
    [junk, false, 65],
  ]);
  expect(r.code).toBe(64);
}, 60_000);

test("poweroff while a poweroff is under way said 'poweroff requested' though the instance answered already: it says so", async () => {
  const path = join(tempDir(), "control");
  const server = answeringSocket(path, () => ({ mode: "poweroff", already: true }));
  try {
    const r = await runShippedAsync(["poweroff", "--socket", path]);
    expect({ code: r.code, out: r.out.trim() }).toEqual({ code: 0, out: "poweroff already under way" });
  } finally {
    server.stop(true);
  }
}, 60_000);

test("fleet status --timeout 1e20 passed the option check and failed later as a bug (TypeError, exit 70): a bound above a timer's reach is a usage error (64)", async () => {
  for (const args of [["fleet", "status", "--endpoints", "http://127.0.0.1:9", "--timeout", "1e20"], ["fleet", "rollout", "reexec", "--endpoints", "http://127.0.0.1:9", "--timeout-s", "1e12"]]) {
    const r = await runShippedAsync(args);
    expect({ args, code: r.code, bug: r.err.includes("TypeError") }).toEqual({ args, code: 64, bug: false });
  }
}, 60_000);
