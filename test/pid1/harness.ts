// Runs the shipped executable (as a subreaper on the host or as PID 1 under unshare), checkout hidden, for tests.
import { chmodSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, root, shipped, shippedDir, shippedEnv, shippedPython, tempDir } from "../harness/artifact.ts";
import { waitFor } from "../harness/wait.ts";

export { exe, root, shippedPython, tempDir, waitFor };

export function writeJson(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value, null, 2));
  return p;
}

const live = new Set<Bun.Subprocess>();

/** Kills whatever a test left running (call from afterEach): the init, and for unshare its namespace. */
export function killLeftovers(): void {
  for (const p of live) {
    for (const c of childrenOf(p.pid)) {
      try {
        process.kill(c, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    p.kill("SIGKILL");
  }
  live.clear();
}

export interface Run {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** stderr (the init's log) received so far. */
  log: () => string;
  /** The init's pid on the host (the namespace's PID 1 when wrapped in unshare). */
  initPid: () => Promise<number>;
  result: (timeoutMs: number) => Promise<{ code: number; stdout: string; stderr: string; ms: number }>;
}

/** Starts the shipped executable (or `exe`, a copy of it) with ARGS (checkout hidden), as PID 1 of a new PID namespace when `pid1`. */
export function start(args: string[], opts: { pid1?: boolean; env?: Record<string, string>; cwd?: string; configStateDir?: boolean; exe?: string } = {}): Run {
  // As PID 1 the default state dir is the machine's /var/lib/vector-boot: keep tests out of it
  // (`configStateDir`: the test's config file names it, and no --set may override that).
  if (opts.pid1 && args[0] === "boot" && !opts.configStateDir && !args.some((a) => a.startsWith("state_dir="))) args = [...args, "--set", `state_dir=${join(tempDir("vb-state-"), "state")}`];
  const argv = opts.exe ? hidden([opts.exe, ...args], { pid1: opts.pid1 }) : shipped(args, { pid1: opts.pid1 });
  const t0 = performance.now();
  const proc = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd ?? shippedDir,
    env: shippedEnv({ JSC_SIGNAL_FOR_GC: "40", ...opts.env }),
  });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const initPid = async (): Promise<number> => {
    if (!opts.pid1) return proc.pid;
    // Bounded generously: unshare's start and fork wait for a CPU on a busy host.
    let kid = 0;
    await waitFor(() => (kid = childrenOf(proc.pid)[0] ?? 0) > 0, 10_000, "unshare to start its child (the namespace's PID 1)");
    return kid;
  };
  let stderrText = "";
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) stderrText += dec.decode(chunk, { stream: true });
  })();
  const stdoutDone = new Response(proc.stdout).text();
  const result = async (timeoutMs: number) => {
    const timer = setTimeout(() => {
      for (const c of childrenOf(proc.pid)) if (opts.pid1) process.kill(c, "SIGKILL");
      proc.kill("SIGKILL");
    }, timeoutMs);
    const [stdout, , code] = await Promise.all([stdoutDone, stderrDone, proc.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr: stderrText, ms: performance.now() - t0 };
  };
  return { proc, initPid, result, log: () => stderrText };
}

/** Pids whose parent is `pid` (from /proc/PID/task/TID/children). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** Host pids whose command line is exactly `argv` (a unique argument names a test's processes among the host's). */
/** SIGKILL to every process running exactly `argv` (a test's uniquely named leftovers). */
export function killRunning(argv: string[]): void {
  for (const p of pidsRunning(argv)) process.kill(p, "SIGKILL");
}

export function pidsRunning(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "latin1") === want) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

export const sleep = (ms: number) => Bun.sleep(ms);

/**
 * The init's own clock (ms) on the first line of `log` matching `re` (its lines start "[  seconds] "),
 * null if none: times an event inside the init, free of this process's scheduling and of the exit's sync.
 */
export function loggedAt(log: string, re: RegExp): number | null {
  for (const line of log.split("\n")) {
    if (!re.test(line)) continue;
    const m = /^\[\s*(\d+\.\d+)\]/.exec(line);
    if (m) return Number(m[1]) * 1000;
  }
  return null;
}

/**
 * A script that a live re-exec runs between the two images (`vector-boot reexec PATH`): PID 1 execs
 * it with the old image's handoff, it runs `body` (Python, with json, os, signal, sys and time
 * imported), then execs the real image with the same arguments. The preflight's questions are
 * answered by the real image: `--version` after `onVersion` and `boot --check` (the last
 * question) after `onCheck` (Python lines indented by four spaces).
 */
export function betweenImages(dir: string, name: string, body: string, onVersion = "", onCheck = ""): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/usr/bin/python3
import json, os, signal, sys, time
REAL = ${JSON.stringify(exe)}
if sys.argv[1:2] == ["--version"]:
${onVersion ? `${onVersion}\n` : ""}    os.execv(REAL, [REAL, "--version"])
if "--check" in sys.argv[1:]:
${onCheck ? `${onCheck}\n` : ""}    os.execv(REAL, [REAL] + sys.argv[1:])
${body}
os.execv(REAL, [REAL] + sys.argv[1:])
`,
  );
  chmodSync(path, 0o755);
  return path;
}
