// With a read-only /tmp (a container run read-only) or a TMPDIR that does not exist, the executable could not start at all: Bun had nowhere to extract the shim library to.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";

/** Runs `args` of the shipped executable with /tmp a read-only tmpfs and TMPDIR unset, checkout hidden. */
function withReadOnlyTmp(args: string[], pid1 = false) {
  const script = 'mount -t tmpfs -o ro vb-ro-tmp /tmp || exit 125; cd /; exec "$@"';
  const env = shippedEnv();
  delete env.TMPDIR;
  const r = Bun.spawnSync(hidden(["sh", "-c", script, "sh", exe, ...args], { pid1 }), { stdout: "pipe", stderr: "pipe", env, timeout: 60_000 });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("tini mode starts and runs CMD with a read-only /tmp, as a subreaper and as PID 1", () => {
  for (const pid1 of [false, true]) {
    const r = withReadOnlyTmp(["--", "sh", "-c", "echo ran; exit 3"], pid1);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ran\n");
    expect(r.code).toBe(3);
  }
});

test("tini mode starts with TMPDIR naming a directory that does not exist", () => {
  const r = Bun.spawnSync(hidden([exe, "--", "echo", "ran"]), { stdout: "pipe", stderr: "pipe", env: shippedEnv({ TMPDIR: "/nonexistent/vector-boot" }), timeout: 30_000 });
  expect(r.stderr.toString()).toBe("");
  expect(r.stdout.toString()).toBe("ran\n");
  expect(r.exitCode).toBe(0);
});

test("a boot with a read-only /tmp beats, samples the machine in its worker and shuts down in order", () => {
  const dir = tempDir();
  const r = withReadOnlyTmp(["boot", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "shutdown_after=1"]);
  expect(r.stderr).not.toContain("ERROR");
  expect(r.stderr).toContain("metabolic worker ready");
  expect(r.stderr).toMatch(/first heartbeat n=1/);
  expect(r.stderr).toContain("shutdown complete status=0");
  expect(r.code).toBe(0);
});

test("with JavaScriptCore's JIT off (BUN_JSC_useJIT=0, or a virtual memory limit of about 2 GiB) the executable ended in 'TypeError: bun:ffi requires the JIT' (exit 70, as if a bug); it says why (exit 71)", () => {
  for (const args of [["--", "true"], ["boot"]]) {
    const r = Bun.spawnSync(hidden([exe, ...args]), { stdout: "pipe", stderr: "pipe", env: shippedEnv({ BUN_JSC_useJIT: "0" }), timeout: 30_000 });
    expect({ args, code: r.exitCode }).toEqual({ args, code: 71 });
    expect(r.stderr.toString()).toContain("dlopen of the native shim: bun:ffi needs the JIT, which is off in this process (a virtual memory limit such as `ulimit -v`");
  }
});

test("as PID 1 with TMPDIR under /tmp, every shim open after the early mounts failed (the fresh tmpfs hid the extracted library): evolution and the control socket were disabled", () => {
  const dir = tempDir();
  const tmp = mkdtempSync("/tmp/vb-tmpdir-");
  try {
    const env = shippedEnv({ TMPDIR: join(tmp, "tmp") });
    mkdirSync(join(tmp, "tmp"));
    const args = ["boot", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "shutdown_after=1", "--set", "shutdown=halt"];
    const r = Bun.spawnSync(hidden([exe, ...args], { pid1: true }), { stdout: "pipe", stderr: "pipe", env, timeout: 60_000 });
    const log = r.stderr.toString();
    expect(log).not.toContain("Failed to open library");
    expect(log).not.toContain("ERROR");
    expect(log).toContain("metabolic worker ready");
    expect(log).toMatch(/first heartbeat n=1/);
    expect(log).toContain("shutdown: halt now");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
