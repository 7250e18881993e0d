// Processes through the shim: spawn with a clean signal state, kill, reap, sessions and groups.
import { ExecError, ExitCode, SysError } from "../errors.ts";
import { logger } from "../log.ts";
import { errnoName } from "./errno.ts";
import { missingInterpreter } from "./exec-diagnosis.ts";
import { capMask, type CapName } from "./capabilities.ts";
import { check, cstr } from "./lib.ts";
import { native } from "./native.ts";
import { bootNative } from "./native-boot.ts";

const log = logger("process");

export interface SpawnOptions {
  argv: string[];
  /** Full environment of the child (default: this process's), as text or as bytes (`inheritedEnvironment`). */
  env?: Record<string, string | undefined> | RawStrings;
  cwd?: string;
  uid?: number;
  gid?: number;
  groups?: number[];
  /** New session (setsid): the child leads its own session and process group. */
  newSession?: boolean;
  /** New process group (setpgid(0,0)) without a new session. */
  newProcessGroup?: boolean;
  /** Give the child's process group the terminal on stdin when stdin is a tty. */
  foreground?: boolean;
  noNewPrivs?: boolean;
  /** Child gets SIGKILL when this process dies (not for services of PID 1). */
  killWithParent?: boolean;
  /**
   * Least privilege: the child's capability sets and bounding set become exactly these (empty
   * list: no capability even as root). Undefined: inherited unchanged.
   */
  capabilities?: readonly CapName[];
  /** File descriptors for the child's stdin/stdout/stderr (default: inherited). */
  stdio?: [number?, number?, number?];
  /** Signals that stay ignored in the child (bit n-1 = signal n); every other one gets SIG_DFL. */
  keepIgnored?: bigint;
  /**
   * A cgroup v2 directory the child joins right after fork, before it runs or forks anything
   * (native/cgroup.c): nothing the service starts can be left outside it.
   */
  cgroup?: string;
  /**
   * The child's argv as bytes (`rawStrings`), used instead of `argv`: tini mode hands CMD what the
   * init was given, byte for byte. `argv` still names it in errors.
   */
  rawArgv?: RawStrings;
  /**
   * Like execvp(3): a file the kernel refuses as a program (ENOEXEC: a script without "#!") is run
   * as `/bin/sh FILE ARGS...`. Tini mode only (tini and dumb-init exec through execvp); services
   * fail with ENOEXEC instead, as systemd's do.
   */
  shellFallback?: boolean;
}

/** NUL-terminated byte strings back to back, and how many. */
export interface RawStrings {
  blob: Uint8Array;
  count: number;
}

const flagBits = { newSession: 1, newProcessGroup: 2, foreground: 4, setIds: 8, noNewPrivs: 16, killWithParent: 32, setCaps: 64, shellFallback: 128 };
const stageNames = ["resolving the command", "setsid/setpgid", "tcsetpgrp", "redirecting stdio", "chdir", "setting uid/gid/groups/capabilities", "prctl", "execve"];

/** A 64-bit signal mask as two 32-bit halves, low first (a double would carry 53 bits). */
function maskHalves(mask: bigint): Uint32Array {
  return new Uint32Array([Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)]);
}

function blob(list: string[]): Uint8Array {
  if (list.length === 0) return new Uint8Array(0);
  let text = list[0]!;
  for (let i = 1; i < list.length; i++) text += `\0${list[i]!}`;
  return cstr(text); // the last string's NUL
}

/**
 * This process's arguments (`argv`; entry 0 is the program) or its environment (`env`), as the
 * kernel gave them: Bun's `process.argv` and `process.env` are UTF-8 decoded, and a byte sequence
 * that is not UTF-8 comes back as U+FFFD.
 */
export function rawStrings(which: "argv" | "env"): RawStrings {
  const w = which === "argv" ? 0 : 1;
  const count = new Int32Array(1);
  for (;;) {
    const size = check(native.vb_raw_strings_size(w, count), "raw_strings_size");
    const out = new Uint8Array(Math.max(1, size));
    const n = native.vb_raw_strings_copy(w, out, out.length);
    if (n === -28) continue; // ENOSPC: the environment grew in between
    check(n, "raw_strings_copy");
    return { blob: out.subarray(0, n), count: count[0]! };
  }
}

const isRaw = (e: Record<string, string | undefined> | RawStrings): e is RawStrings => e.blob instanceof Uint8Array;

/** `KEY=value` entries of an environment object (entries that could not be passed on are left out). */
function textEnvironment(envObj: Record<string, string | undefined>): string[] {
  return Object.entries(envObj)
    .filter((e): e is [string, string] => e[1] !== undefined && e[0] !== "" && !e[0].includes("=") && !e[0].includes("\0") && !e[1].includes("\0"))
    .map(([k, v]) => `${k}=${v}`);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * This process's environment for a child, in bytes (null when it is all UTF-8: then the text of
 * `process.env` is exact and the caller uses it; also when the bytes cannot be read, with a
 * warning): each variable as the kernel gave it, as long as
 * `process.env` still holds it with the same text (one JS deleted or changed is taken from there, or
 * left out), then `overrides` (text; `undefined` removes). Bytes that are not UTF-8 pass unchanged.
 */
export function inheritedEnvironment(overrides: Record<string, string | undefined>): RawStrings | null {
  let raw: RawStrings;
  try {
    raw = rawStrings("env");
  } catch (e) {
    log.warn("cannot read the raw environment: passing it as text", { error: String(e) });
    return null;
  }
  // All of it UTF-8 (the usual case): the text is exact, and building it per entry costs ~1 ms.
  try {
    strictUtf8.decode(raw.blob);
    return null;
  } catch {
    /* some bytes are not UTF-8: keep them */
  }
  const parts: Uint8Array[] = [];
  const kept = new Set<string>();
  const dec = new TextDecoder();
  for (let at = 0, i = 0; i < raw.count; i++) {
    const end = raw.blob.indexOf(0, at);
    const entry = raw.blob.subarray(at, end + 1); // with its NUL
    at = end + 1;
    const eq = entry.indexOf(0x3d); // "="
    if (eq <= 0) continue;
    const key = dec.decode(entry.subarray(0, eq));
    if (key in overrides || kept.has(key)) continue;
    const now = process.env[key];
    const value = dec.decode(entry.subarray(eq + 1, entry.length - 1));
    // The same text, or bytes that decode with U+FFFD (process.env holds the replaced text then).
    if (now === undefined || (now !== value && !value.includes("\uFFFD"))) continue;
    parts.push(entry);
    kept.add(key);
  }
  // What JS set or changed (and the overrides) as text.
  const rest = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !kept.has(k))), ...overrides };
  const text = textEnvironment(rest);
  parts.push(blob(text));
  return { blob: Buffer.concat(parts), count: kept.size + text.length };
}

/** The strings of a RawStrings, decoded as UTF-8 (U+FFFD where the bytes are not). */
export function decodeRaw(r: RawStrings): string[] {
  if (r.count === 0) return [];
  return new TextDecoder().decode(r.blob.subarray(0, r.blob.length - 1)).split("\0");
}

/**
 * Forks and execs `argv` (argv[0] resolved against PATH). The child starts with default signal
 * dispositions and an empty mask whatever Bun set for itself. Throws ExecError with exit code 127
 * (not found) or 126 (found, but cannot be executed: any other errno of the lookup or of execve)
 * naming the path, or SysError for other failures (fork, the steps before exec).
 */
export function spawn(opts: SpawnOptions): number {
  const { argv } = opts;
  if (argv.length === 0 || argv[0] === "") throw new ExecError("spawn: empty command", ExitCode.notFound);
  for (const a of argv) if (a.includes("\0")) throw new ExecError(`spawn: argument contains NUL: ${JSON.stringify(a)}`, ExitCode.usage);
  const rawEnv = opts.env !== undefined && isRaw(opts.env) ? opts.env : null;
  const env = rawEnv ? [] : textEnvironment((opts.env as Record<string, string | undefined> | undefined) ?? process.env);
  let flags = 0;
  if (opts.newSession) flags |= flagBits.newSession;
  if (opts.newProcessGroup) flags |= flagBits.newProcessGroup;
  if (opts.foreground) flags |= flagBits.foreground;
  if (opts.noNewPrivs) flags |= flagBits.noNewPrivs;
  if (opts.killWithParent) flags |= flagBits.killWithParent;
  if (opts.shellFallback) flags |= flagBits.shellFallback;
  if (opts.capabilities) flags |= flagBits.setCaps;
  const setIds = opts.uid !== undefined || opts.gid !== undefined || opts.groups !== undefined;
  if (setIds) flags |= flagBits.setIds;
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const gid = opts.gid ?? process.getgid?.() ?? 0;
  const groups = new Uint32Array(opts.groups && opts.groups.length > 0 ? opts.groups : [0]);
  const ngroups = opts.groups?.length ?? 0;
  const [fd0 = -1, fd1 = -1, fd2 = -1] = opts.stdio ?? [];
  const rest = [opts.rawArgv?.blob ?? blob(argv), opts.rawArgv?.count ?? argv.length, rawEnv?.blob ?? blob(env), rawEnv?.count ?? env.length, cstr(opts.cwd ?? ""), uid, gid, groups, ngroups, flags, fd0, fd1, fd2, capMask(opts.capabilities ?? []), maskHalves(opts.keepIgnored ?? 0n)] as const;
  const ret = opts.cgroup !== undefined ? bootNative().vb_spawn_in_cgroup(cstr(opts.cgroup), ...rest) : native.vb_spawn(...rest);
  if (ret > 0) return ret;
  const code = -ret % 1000;
  const stage = Math.floor(-ret / 1000);
  const name = errnoName(code);
  const cmd = argv[0]!;
  // Finding or exec-ing the command: 127 when it is not there, else 126 whatever the errno (as a
  // shell says it): a symlink loop, a file being written or a too long path exited 71, as if a
  // system call of the init's own had failed, and named no reason the command could not run.
  if (stage === 0 || stage === 7) {
    if (code === 2 || code === 20) {
      const why = code === 2 ? missingInterpreter(cmd, opts.cwd) : null;
      throw new ExecError(why ? `${cmd}: cannot run (${name}): ${why}` : `${cmd}: command not found (${name})`, ExitCode.notFound);
    }
    throw new ExecError(`${cmd}: cannot execute (${name})`, ExitCode.notExecutable);
  }
  // The chdir names its directory: "chdir failed: ENOTDIR" did not say that `cwd` was at fault, nor which.
  const what = stage === 9 ? "fork" : stage === 8 ? `joining cgroup ${opts.cgroup}` : stage === 4 ? `chdir to the working directory ${opts.cwd ?? ""}` : (stageNames[stage] ?? `stage ${stage}`);
  throw new SysError("spawn", name, code, `${cmd}: ${what} failed`);
}

/** Sends a signal; returns false when the process (group) no longer exists (ESRCH). */
export function kill(pid: number, signal: number): boolean {
  const r = native.vb_kill(pid, signal);
  if (r === -3) return false;
  check(r, "kill", `pid ${pid} signal ${signal}`);
  return true;
}

export interface Reaped {
  pid: number;
  /** Exit code when the child exited, else null. */
  code: number | null;
  /** Signal number that killed it, else null. */
  signal: number | null;
  /** Shell-style status: code, or 128 + signal. */
  status: number;
}

export function decodeWaitStatus(pid: number, raw: number): Reaped {
  const sig = raw & 0x7f;
  if (sig === 0) {
    const code = (raw >> 8) & 0xff;
    return { pid, code, signal: null, status: code };
  }
  return { pid, code: null, signal: sig, status: 128 + sig };
}

const reapPids = new Int32Array(256);
const reapStatus = new Int32Array(256);

/** Reaps every exited child that is ready, without blocking (waitpid(-1, WNOHANG) in a loop). */
export function reapAll(): Reaped[] {
  const out: Reaped[] = [];
  for (let round = 0; round < 1000; round++) {
    const n = check(native.vb_reap(reapPids, reapStatus, reapPids.length), "waitpid");
    for (let i = 0; i < n; i++) out.push(decodeWaitStatus(reapPids[i]!, reapStatus[i]!));
    if (n < reapPids.length) break;
  }
  return out;
}

/** Whether this process has any child left (a zombie not yet reaped counts): none means no descendant at all. */
export const hasChildren = (): boolean => check(native.vb_has_children(), "waitid") === 1;

/** The signal that stopped child `pid` since the last call (its stop report is taken; nothing is reaped), 0 when none. */
export const stoppedBy = (pid: number): number => check(native.vb_child_stopped(pid), "waitid", `pid ${pid}`);

/** Replaces this process image with `path` (same pid; children and non-CLOEXEC fds kept). Throws on failure. */
export function execve(path: string, argv: string[], env: Record<string, string | undefined>): never {
  const list = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const r = bootNative().vb_execve(cstr(path), blob(argv), argv.length, blob(list), list.length);
  throw new SysError("execve", errnoName(-r), -r, path);
}

export const getpid = (): number => native.vb_getpid();
export const getppid = (): number => bootNative().vb_getppid();
export const getpgid = (pid = 0): number => check(native.vb_getpgid(pid), "getpgid");
export const setsid = (): number => check(bootNative().vb_setsid(), "setsid");
export const setpgid = (pid: number, pgid: number): void => void check(bootNative().vb_setpgid(pid, pgid), "setpgid");
export const isatty = (fd: number): boolean => native.vb_isatty(fd) === 1;
export const tcgetpgrp = (fd: number): number => check(native.vb_tcgetpgrp(fd), "tcgetpgrp");
export const tcsetpgrp = (fd: number, pgrp: number): void => void check(native.vb_tcsetpgrp(fd, pgrp), "tcsetpgrp");
/** Blocks SIGTTOU and SIGTTIN in the calling (main) thread: its writes to a terminal it is in the background of never stop it (`stty tostop`). */
export const blockTerminalStops = (): void => void check(native.vb_block_tty_stops(1), "pthread_sigmask");

export function setSubreaper(on = true): void {
  check(native.vb_set_subreaper(on ? 1 : 0), "prctl(PR_SET_CHILD_SUBREAPER)");
}
export const isSubreaper = (): boolean => check(bootNative().vb_is_subreaper(), "prctl(PR_GET_CHILD_SUBREAPER)") === 1;
export const setNoNewPrivs = (): void => void check(bootNative().vb_set_no_new_privs(), "prctl(PR_SET_NO_NEW_PRIVS)");
/** This process gets `sig` when its parent dies (tini -p); 0 clears it. */
export const setParentDeathSignal = (sig: number): void => void check(native.vb_set_pdeathsig(sig), "prctl(PR_SET_PDEATHSIG)", `signal ${sig}`);

export { SysError };

/** Keeps `fd` open across execve (inherit=true) or closes it there (false): handoffs at a live re-exec. */
export function setInheritable(fd: number, inherit: boolean): void {
  check(bootNative().vb_set_cloexec(fd, inherit ? 0 : 1), "fcntl(F_SETFD)", `fd ${fd}`);
}
