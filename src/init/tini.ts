// tini-style mode: run one command as the main child, forward signals, reap everything, exit with its status.
import { describeError, ExecError, exitCodeOf } from "../errors.ts";
import { logger, setLogLevel } from "../log.ts";
import { jitInteractive } from "../util/jit-policy.ts";
import { blockTerminalStops, decodeRaw, getpgid, getpid, isatty, kill, rawStrings, setParentDeathSignal, setSubreaper, spawn, stoppedBy, tcgetpgrp, tcsetpgrp, type RawStrings, type Reaped } from "../sys/process.ts";
import { Sig, signalName, signalState } from "../sys/signals.ts";
import { closeFdQuietly, keepInheritedFds, openCwd } from "../sys/fd.ts";
import { drainDescendants } from "./drain.ts";
import { scheduleImageTrim } from "./image-trim.ts";
import { Reaper } from "./reaper.ts";
import { rewriteSignal } from "./signal-rewrite.ts";
import { suspendSignals, watchSignals } from "./signal-watch.ts";
import type { TiniOptions } from "./tini-options.ts";

export type { TiniOptions } from "./tini-options.ts";

const log = logger("init");

/** Once CMD runs, the init's work is forwarding and reaping: the start-up's pages go back this long after (init/image-trim.ts). */
const TRIM_AFTER_MS = 2_000;

/** Runs the command and resolves to the exit status to use (child's code, 128+N if signalled, 0 if remapped by -e). */
export async function runTini(opts: TiniOptions): Promise<number> {
  // Quiet unless asked: nothing from the init on the terminal unless something goes wrong.
  setLogLevel(opts.verbose ? "debug" : opts.quiet ? "error" : "warn");
  // The init's own lines to a terminal it is in the background of (CMD holds it, or started with
  // `&`) never stop it under `stty tostop`: SIGTTOU/SIGTTIN are blocked in this thread (tini ignores
  // them), before its first line (-v's count of inherited descriptors stopped it, CMD not started).
  // With only a handler, each write was interrupted and restarted for ever: the init spun, CMD
  // stayed a zombie. Sent by another process they are still counted and forwarded.
  try {
    blockTerminalStops();
  } catch (e) {
    log.debug("could not block SIGTTOU/SIGTTIN in the init's thread", { error: String(e) });
  }
  // The caller's descriptors from 4 up go to CMD, as tini and dumb-init hand them on (LISTEN_FDS,
  // `CMD 4>file`): Bun made them close-on-exec; first, before the init opens any of its own.
  try {
    const kept = keepInheritedFds();
    if (kept > 0) log.debug("inherited descriptors passed on to the command", { count: kept });
  } catch (e) {
    log.debug("inherited descriptors not found: the command gets 0-3 only", { error: String(e) });
  }
  const pid1 = getpid() === 1;
  // What the caller ignored stays ignored in the child (nohup). SIGPIPE and SIGXFSZ are left out:
  // Bun ignores them for itself (as Node does), so whether the caller did cannot be told; the child
  // gets them back by default.
  let keepIgnored = 0n;
  try {
    keepIgnored = signalState().ignored & ~(1n << BigInt(Sig.SIGPIPE - 1)) & ~(1n << BigInt(Sig.SIGXFSZ - 1));
  } catch (e) {
    log.warn("could not read the signal dispositions", { error: String(e) });
  }
  if (!pid1) setSubreaper(true);
  if (opts.parentDeathSignal !== 0) setParentDeathSignal(opts.parentDeathSignal);
  const reaper = new Reaper().start();
  const stopWarning = opts.warnReaped
    ? reaper.onReap((r, owned) => {
        // tini -w's wording, so what parses tini's warnings parses these.
        if (!owned) log.warn("Reaped zombie process with", { pid: r.pid, status: r.status });
      })
    : null;
  const tty = isatty(0);
  // CMD takes the terminal only from a foreground init: started with `&` it would take it from the
  // shell (whose next read fails with EIO: an interactive bash exits). `fg` of the stopped job
  // hands it over (handTerminalBack, on SIGCONT).
  const foreground = tty && ownsTerminal();
  // The terminal stops CMD's group, not the init (ctrl-Z reaches the foreground group; a background
  // CMD that reads it gets SIGTTIN): the init follows, or the shell never sees its job stop.
  const followStops = tty && !pid1;
  let stoppedFromTerminal = false;
  // Handlers go in before the child exists: a signal that arrives in between is queued, not lost
  // (and as PID 1 a signal without a handler would be dropped by the kernel).
  let child = 0;
  let mainExit: Reaped | null = null;
  const pending: number[] = [];
  const deliver = (num: number) => {
    const to = rewriteSignal(opts.rewrite, num);
    let target = opts.group ? -child : child;
    if (num === Sig.SIGCONT && tty) {
      // The terminal first (CMD resumed without it may stop again on SIGTTIN); stops from before
      // this SIGCONT are over; the terminal stopped CMD's whole group: `fg` resumes all of it.
      handTerminalBack(child);
      if (followStops) forgetStops(child);
      if (stoppedFromTerminal) {
        stoppedFromTerminal = false;
        if (to === Sig.SIGCONT) target = -child;
        else resume(-child);
      }
    }
    if (to === 0) log.debug("dropped signal (rewritten to 0)", { signal: signalName(num) });
    else {
      try {
        kill(target, to);
        log.debug("forwarded signal", { signal: signalName(num), ...(to !== num ? { as: signalName(to) } : {}), to: target });
      } catch (e) {
        log.warn("could not forward signal", { signal: signalName(num), error: String(e) });
      }
    }
    if (suspendSignals.has(num)) suspendSelf(pid1, num);
  };
  const signals = watchSignals((num) => {
    if (mainExit) return;
    if (child === 0) pending.push(num);
    else deliver(num);
  });
  const onChildStop = () => {
    if (mainExit) return;
    signals.now(); // a SIGCONT that came first resumes CMD first: the stop it ended is no reason to stop
    const sig = stopSignal(child);
    // A SIGSTOP stops a job too when CMD holds the terminal (bash's `suspend`, `kill -STOP` from
    // elsewhere): the shell, with no init between, shows it stopped and takes the terminal back.
    // Followed only then: a SIGSTOP of a CMD in the background is no stop of the job's.
    if (!suspendSignals.has(sig) && !(sig === Sig.SIGSTOP && cmdHoldsTerminal(child))) return;
    stoppedFromTerminal = true;
    // The whole job stops, as ctrl-Z stops every process of the foreground group: the init's group
    // holds more than the init when a script or a pipeline ran it, and the shell waited on the rest.
    suspendSelf(pid1, sig, true);
  };
  let trim: { cancel(): void } | null = null;
  const cleanup = () => {
    trim?.cancel();
    if (followStops) process.off("SIGCHLD", onChildStop);
    signals.stop();
    stopWarning?.();
    reaper.stop();
  };
  // Like dumb-init: the init itself holds no reference to the directory it was started in; CMD
  // starts there. The init leaves it before the spawn (so CMD never finds the init in it) and CMD
  // enters it through a descriptor; without one, the init leaves it once CMD has started.
  const startDir = openCwd();
  if (startDir !== null) leaveStartDir();
  try {
    // CMD gets the init's environment as the kernel gave it (tini mode changes no variable): the
    // bytes of `environ`, not a copy rebuilt from process.env (~0.5 ms of cold code at start-up).
    child = spawn({ argv: opts.argv, rawArgv: rawCommand(opts.argv), env: environment(), shellFallback: true, newProcessGroup: true, foreground, keepIgnored, ...(startDir !== null ? { cwd: `/proc/self/fd/${startDir}` } : {}) });
  } catch (e) {
    // The child takes the terminal before its exec: one that failed left it with a dead group, and
    // the script that ran the init stopped at its next read (SIGTTIN).
    if (foreground) takeTerminalBack(null);
    cleanup();
    // tini fails to exec in its child, whose 126/127 -e remaps like any exit: so does ours. The
    // init's own failure to start it (fork: EMFILE, 71) is no status of CMD's: -e 71 made it exit 0.
    const status = exitCodeOf(e);
    if (!(e instanceof ExecError) || !opts.remapExit.has(status)) throw e;
    log.error(`${describeError(e)}; exit status ${status} remapped to 0 (-e)`);
    return 0;
  } finally {
    if (startDir !== null) closeFdQuietly(startDir);
  }
  if (startDir === null) leaveStartDir();
  jitInteractive(); // CMD runs: what follows (forwarding, reaping) may run hot
  trim = scheduleImageTrim(TRIM_AFTER_MS);
  const exited = new Promise<Reaped>((resolve) => {
    reaper.watch(child, (r) => {
      mainExit = r;
      resolve(r);
    });
  });
  if (followStops) process.on("SIGCHLD", onChildStop);
  log.debug("ready", { mode: pid1 ? "pid1" : "subreaper", child, command: opts.argv[0], group: opts.group, leftovers: opts.leftovers });
  for (const num of pending.splice(0)) deliver(num);
  reaper.reapNow(); // the child may already be gone
  const r = await exited;
  log.debug("main child exited", { pid: child, status: r.status, ...(r.signal !== null ? { signal: r.signal } : {}) });
  if (tty) takeTerminalBack(child);
  if (opts.leftovers === "term-exit") {
    // dumb-init: SIGTERM to where signals go (the child's group; with -c the child, already gone),
    // forwarded as a received one is: through -r (15:3 sends SIGQUIT, 15:0 nothing), then exit.
    const last = rewriteSignal(opts.rewrite, Sig.SIGTERM);
    if (opts.group && last !== 0) {
      try {
        kill(-child, last);
      } catch {
        /* the group is empty */
      }
    }
  } else {
    await drainDescendants(reaper, { graceMs: opts.graceMs, killAll: pid1 });
  }
  cleanup();
  if (opts.remapExit.has(r.status)) {
    log.debug("exit status remapped to 0 (-e)", { status: r.status });
    return 0;
  }
  return r.status;
}

/**
 * CMD as the init was given it, byte for byte (tini passes it on unchanged; Bun's strings have
 * U+FFFD where the bytes are not UTF-8). CMD is the tail of the init's argv. Undefined, so the
 * strings are used, if the bytes do not decode to `argv` (never expected).
 */
function rawCommand(argv: string[]): RawStrings | undefined {
  try {
    const all = rawStrings("argv");
    if (all.count < argv.length) throw new Error(`${all.count} arguments in memory, CMD has ${argv.length}`);
    let at = 0;
    for (let i = all.count - argv.length; i > 0; i--) at = all.blob.indexOf(0, at) + 1;
    const cmd: RawStrings = { blob: all.blob.subarray(at), count: argv.length };
    const decoded = decodeRaw(cmd);
    // Where either side replaced bytes, the two decoders may differ in how many U+FFFD they put.
    let same = decoded.length === argv.length; // a loop, not every(): a cold builtin on the path to the spawn
    for (let i = 0; same && i < argv.length; i++) same = decoded[i] === argv[i] || decoded[i]!.includes("\uFFFD") || argv[i]!.includes("\uFFFD");
    if (same) return cmd;
    log.warn("the arguments in memory differ from CMD: passing CMD as text", { command: argv[0] });
  } catch (e) {
    log.warn("cannot read the raw arguments: passing CMD as text", { error: String(e) });
  }
  return undefined;
}

function leaveStartDir(): void {
  try {
    process.chdir("/");
  } catch (e) {
    log.debug("could not leave the start directory", { error: String(e) });
  }
}

/** The init's environment for CMD, in bytes; undefined (process.env's text) when they cannot be read. */
function environment(): RawStrings | undefined {
  try {
    return rawStrings("env");
  } catch (e) {
    log.warn("cannot read the raw environment: passing it as text", { error: String(e) });
    return undefined;
  }
}

/**
 * After SIGTSTP/SIGTTIN/SIGTTOU, sent to the init or stopping CMD from the terminal: stop the init
 * itself (`wholeGroup`: its process group, the rest of the job), so the shell that started it sees the
 * job stop (dumb-init's job control). As PID 1 the kernel ignores a SIGSTOP the init sends itself;
 * there is no shell above to tell.
 */
function suspendSelf(pid1: boolean, num: number, wholeGroup = false): void {
  if (pid1) {
    log.debug("not stopping: PID 1 cannot stop itself", { signal: signalName(num) });
    return;
  }
  log.debug(wholeGroup ? "stopping the init's process group after CMD stopped at the terminal" : "stopping self after a job-control signal", { signal: signalName(num) });
  try {
    kill(wholeGroup ? -getpgid(0) : getpid(), Sig.SIGSTOP);
  } catch (e) {
    log.warn("could not stop self", { error: String(e) });
  }
}

/** The signal that stopped the child since the last look (0: none), never throwing (a SIGCHLD listener). */
function stopSignal(child: number): number {
  try {
    return stoppedBy(child);
  } catch (e) {
    log.debug("could not read the child's stops", { error: String(e) });
    return 0;
  }
}

/** Takes the stop reports of the child that are pending (a SIGCONT ends the stops they tell of). */
function forgetStops(child: number): void {
  while (stopSignal(child) > 0) log.debug("an earlier stop of the child is over");
}

/** SIGCONT to a stopped group whose own SIGCONT was rewritten to something else (-r CONT:...). */
function resume(target: number): void {
  try {
    kill(target, Sig.SIGCONT);
  } catch (e) {
    log.warn("could not resume the child's group", { error: String(e) });
  }
}

/** CMD's group is the foreground one of the terminal on stdin. */
function cmdHoldsTerminal(child: number): boolean {
  try {
    return tcgetpgrp(0) === child;
  } catch {
    return false;
  }
}

/** The init's process group is the foreground one of the terminal on stdin (false when that is not its controlling terminal). */
function ownsTerminal(): boolean {
  try {
    return tcgetpgrp(0) === getpgid(0);
  } catch {
    return false;
  }
}

/**
 * On SIGCONT: when the shell's `fg` gave the terminal to the init's group, hand it on to the child's
 * group (only from the foreground, so tcsetpgrp raises no SIGTTOU).
 */
function handTerminalBack(child: number): void {
  try {
    if (ownsTerminal()) tcsetpgrp(0, child);
  } catch (e) {
    log.debug("terminal not handed back to the child", { error: String(e) });
  }
}

/**
 * CMD exited holding the terminal (its group the foreground one), or its exec failed after it took
 * it (`child` null: its pid never came back): it goes back to the init's group, which is the
 * caller's. It stayed with the dead group, and the script that ran the init was in the background
 * of its own terminal: its next `read` stopped it (SIGTTIN), ctrl-C reached nothing.
 */
function takeTerminalBack(child: number | null): void {
  try {
    const holder = tcgetpgrp(0);
    if (child === null ? holder !== getpgid(0) : holder === child) tcsetpgrp(0, getpgid(0));
  } catch (e) {
    log.debug("terminal not taken back from the command's group", { error: String(e) });
  }
}
