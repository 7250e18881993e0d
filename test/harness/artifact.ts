// The one harness for the shipped executable: a copy of dist/vector-boot run where the checkout cannot be seen.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** The checkout (hidden from every run of the executable). */
export const root = resolve(import.meta.dir, "../..");
export const builtExe = join(root, "dist/vector-boot");
if (!existsSync(builtExe)) throw new Error(`${builtExe} missing: run scripts/build.ts (npm test does)`);

/**
 * Where tests keep their files: outside the checkout (hidden from the executable), and outside /tmp
 * (a PID-1 boot mounts its own tmpfs there). `VB_TEST_TMP` overrides; it must meet both conditions.
 */
export const testTmpBase: string = resolve(process.env.VB_TEST_TMP ?? "/var/tmp/vector-boot-tests");
if (testTmpBase === root || testTmpBase.startsWith(`${root}/`) || testTmpBase === "/tmp" || testTmpBase.startsWith("/tmp/")) {
  throw new Error(`test temp base ${testTmpBase} must lie outside the checkout (${root}) and outside /tmp`);
}

/**
 * This test process's own directory under testTmpBase (`run-<pid>-<random>`), removed when the run
 * ends (test/harness/preload.ts) and swept by the next run if this process was killed. 0755: the
 * PID-1 tests' service users have to reach the directories inside.
 */
const runDir: string = (() => {
  mkdirSync(testTmpBase, { recursive: true });
  sweepDeadRuns();
  const d = join(testTmpBase, `run-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  mkdirSync(d, { mode: 0o755 });
  return d;
})();

/**
 * TMPDIR of every run of the shipped executable: a development boot's mkdtemp scratch (state, run
 * dirs) and Bun's extracted shim land in the run directory, not in the machine's /tmp. Mode 1777, as
 * /tmp: services that run as other users make their files there too.
 */
export const testTmpDir: string = join(runDir, "tmp");
mkdirSync(testTmpDir);
chmodSync(testTmpDir, 0o1777);

/** The environment of a run of the shipped executable: the caller's, plain log lines, TMPDIR above, then `extra`. */
export function shippedEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...process.env, NO_COLOR: "1", TMPDIR: testTmpDir, ...extra };
}

/** A fresh directory in this test process's run directory. */
export function tempDir(prefix = "vb-test-"): string {
  return mkdtempSync(join(runDir, prefix));
}

/** Removes this process's run directory (every tempDir and the shipped copy); VB_KEEP_TEST_TMP=1 keeps it. */
export function removeTestTmp(): void {
  if (process.env.VB_KEEP_TEST_TMP === "1") return;
  rmSync(runDir, { recursive: true, force: true });
}

/** Run directories whose test process is gone (killed, timed out) are removed by the next run. */
function sweepDeadRuns(): void {
  for (const name of readdirSync(testTmpBase)) {
    const m = /^run-(\d+)-/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    try {
      rmSync(join(testTmpBase, name), { recursive: true, force: true });
    } catch {
      /* another run sweeping the same directory, or a mount inside it: left for later */
    }
  }
}
process.on("exit", removeTestTmp); // scripts that use the harness; `bun test` emits no "exit": preload.ts
(globalThis as { vbRemoveTestTmp?: () => void }).vbRemoveTestTmp = removeTestTmp;

/**
 * The shipped artifact: dist/vector-boot and the Python client copied once per test process into a
 * directory of their own (no source tree next to them). Every test runs this copy, never the build.
 */
export const shippedDir: string = (() => {
  const d = tempDir("artifact-");
  copyFileSync(builtExe, join(d, "vector-boot"));
  chmodSync(join(d, "vector-boot"), 0o755);
  cpSync(join(root, "python/vector_boot_evolution"), join(d, "python/vector_boot_evolution"), {
    recursive: true,
    filter: (src) => !src.includes("__pycache__"),
  });
  return d;
})();
export const exe = join(shippedDir, "vector-boot");
/** PYTHONPATH for the shipped Python client (visible inside the hidden namespace too). */
export const shippedPython = join(shippedDir, "python");
if (statSync(exe).size !== statSync(builtExe).size) throw new Error(`copy of ${builtExe} is incomplete`);

export interface HideOptions {
  /** Run as PID 1 of a new PID namespace (with its own /proc). */
  pid1?: boolean;
  /** Directories to hide besides the checkout (e.g. a fixture's build directory). */
  alsoHide?: string[];
}

/**
 * argv that runs `argv` in a new mount namespace where the checkout (and `alsoHide`) is covered by an
 * empty read-only tmpfs, so no lookup of a build-machine path can succeed. With `pid1` the command is
 * PID 1 of a new PID namespace: `sh` mounts, then `exec`s the command in its own place (pid 1).
 */
export function hidden(argv: string[], opts: HideOptions = {}): string[] {
  const dirs = [root, ...(opts.alsoHide ?? [])];
  const script = 'while [ "$1" != -- ]; do mount -t tmpfs -o ro,size=4k,mode=0555 vb-hidden "$1" || exit 125; shift; done; shift; exec "$@"';
  const ns = opts.pid1 ? ["--pid", "--fork", "--mount-proc"] : [];
  return ["unshare", "--mount", "--propagation", "private", ...ns, "--", "/bin/sh", "-c", script, "vb-hidden", ...dirs, "--", ...argv];
}

/** `hidden([exe, ...args])`: the shipped executable, checkout hidden. */
export const shipped = (args: string[], opts: HideOptions = {}): string[] => hidden([exe, ...args], opts);

/** Runs the shipped executable to completion (checkout hidden). */
export function runShipped(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}) {
  const r = Bun.spawnSync(shipped(args), {
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 30_000,
    cwd: opts.cwd ?? shippedDir,
    env: shippedEnv(opts.env),
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString(), signal: r.signalCode };
}

/** Runs the shipped executable without waiting (checkout hidden). */
export function spawnShipped(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  return Bun.spawn(shipped(args), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd ?? shippedDir,
    env: shippedEnv(opts.env),
  });
}

/**
 * Runs the shipped executable to completion without blocking this event loop (an init under test
 * keeps running); SIGKILLed after `timeoutMs`. In shippedDir with shippedEnv, as runShipped: a
 * working directory inside the checkout stays readable through relative paths under the mount.
 */
export function runShippedAsync(args: string[], timeoutMs = 20_000, opts: { env?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string }> {
  return runAsync(shipped(args), { timeoutMs, cwd: shippedDir, env: shippedEnv(opts.env) });
}

/** Runs `argv` to completion without blocking this event loop; SIGKILLed after `timeoutMs` (default 20 s). */
export async function runAsync(argv: string[], opts: { timeoutMs?: number; env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  const timer = setTimeout(() => p.kill(9), opts.timeoutMs ?? 20_000);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}
