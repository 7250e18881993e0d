// The boot: runs the phase table, waits for a shutdown request, then walks the table back; live re-exec.
import { describeError, exitCodeOf, NotNowError } from "../errors.ts";
import { logger } from "../log.ts";
import type { BootOptions } from "./boot-options.ts";
import { bootConfigFile } from "./config-phase.ts";
import { consumeHandoff, reexec, selfExecutable, type Handoff } from "./handoff.ts";
import { HANDOFF_VERSION } from "./handoff-version.ts";
import { modelSha256 } from "../rts/model-source.ts";
import { preflight } from "./preflight.ts";
import type { Boot } from "./phase.ts";
import { bootPhases } from "./phase-table.ts";
import { shutdown, type StartedPhase } from "./shutdown.ts";
import type { ShutdownRequest } from "./shutdown-signals.ts";

const log = logger("boot");

/**
 * The boot sequence. PID 1: the phase table (early setup ... heartbeat), the beat until a shutdown
 * request, the table in reverse, reboot(2). Elsewhere the same as a child subreaper, ending in exit.
 */
export async function boot(opts: BootOptions): Promise<number> {
  const handoff = consumeHandoff();
  const b = { opts, handoff, generation: handoff?.generation ?? 0, runtime: null, model: null, stateDiskMissing: null, evolution: null, supervisor: null, mainExit: null, watchdog: null, heartbeat: null, reexec: null } as Partial<Boot> as Boot;
  const started: StartedPhase[] = [];
  const booted = Promise.withResolvers<void>();
  const handover: Handover = { busy: null, asking: false };
  b.reexec = (path) => liveReexec(b, started, booted.promise, handover, path);
  let status = 0;
  let failure: unknown = null;
  let req: ShutdownRequest;
  let bootDone = false;
  const requestReexec = (path?: string) => {
    if (!bootDone) log.info("re-exec requested during the boot: it runs once the boot is done");
    return b.reexec!(path).catch((e) => log.error("re-exec refused; the running image carries on", { error: describeError(e) }));
  };
  try {
    for (const [i, phase] of bootPhases.entries()) {
      const run = (await phase.start(b)) ?? {};
      started.push({ phase, run });
      // After a re-exec: a pet between the phases too, whose work (the model's mapping and checks,
      // the journal's replay) is synchronous: the handed-over watchdog's timer does not fire in them.
      b.handedWatchdog?.pet();
      // From the signals phase on a SIGHUP is taken, not dropped: during the boot (a mount waiting
      // for its disk, a model loading) the re-exec waits for the boot to end.
      if (b.signals && !b.signals.onReexec) b.signals.onReexec = requestReexec;
      // A signal that came while a phase ran without yielding (a long journal replay, a model
      // load) reaches its handler only on a turn of the event loop: one is taken before asking. The
      // boot went on to start every later phase, services included, and only then shut down.
      if (b.signals && !b.handoff) await new Promise<void>((r) => setImmediate(r));
      // A shutdown asked during a fresh boot starts nothing more (no service comes up only to be
      // stopped). After a re-exec every phase still resumes what it was handed, to stop it in order.
      if (b.signals?.isRequested && !b.handoff && i < bootPhases.length - 1) {
        log.info("shutdown requested during the boot: later phases not started", { after: phase.name, skipped: bootPhases.slice(i + 1).map((p) => p.name).join(",") });
        break;
      }
    }
    bootDone = true;
    booted.resolve();
    req = await b.signals.requested;
  } catch (e) {
    failure = e;
    status = exitCodeOf(e);
    // Outside PID 1 the CLI prints the error itself (one line, exit code from the table) after the shutdown.
    log.error("boot failed", b.ctx?.pid1 ? { error: describeError(e), exit: status } : { exit: status });
    req = { reason: "boot failed" };
    b.signals?.request(req);
  }
  // A re-exec handing over goes first (the shutdown waits it out, under its deadline): it execs (and
  // never comes back) or resumes the phases it paused; the shutdown stopped those phases while they
  // were being handed over.
  const code = await shutdown(b, started, req, status, handover.busy);
  if (failure !== null) throw failure;
  return code;
}

/** A live re-exec between the end of its preflight and its exec (or its failure), which the shutdown waits out. */
interface Handover {
  busy: Promise<void> | null;
  /** A re-exec is between its preflight's start and its exec (or failure): another one is refused. */
  asking: boolean;
}

/**
 * Live re-exec: the new image must pass the preflight (src/boot/preflight.ts); then every started phase writes its handoff
 * (in reverse order: the beat freezes first) and PID 1 execs. Only returns by throwing: the image
 * was refused, or the exec failed and the phases resumed (the running image carries on).
 */
async function liveReexec(b: Boot, started: StartedPhase[], booted: Promise<void>, handover: Handover, path = selfExecutable()): Promise<never> {
  await booted;
  // Not now (75, control code busy), as a start during the shutdown: it was "invalid_request" (64).
  if (b.signals.isRequested) throw new NotNowError("re-exec: the machine is shutting down");
  // One at a time: two asked together were both answered done, though only one image ran.
  if (handover.asking) throw new NotNowError("re-exec: another re-exec is under way");
  handover.asking = true;
  try {
    return await askAndExec(b, started, handover, path);
  } finally {
    handover.asking = false;
  }
}

/** The preflight, every phase's handoff, the exec (liveReexec, one at a time). */
async function askAndExec(b: Boot, started: StartedPhase[], handover: Handover, path: string): Promise<never> {
  // The config file the new image will read: this one's, as it found it at boot.
  await preflight(path, b.reaper, {
    configFile: bootConfigFile(b.ctx, b.opts),
    model: b.opts.model,
    cmdline: b.ctx.cmdline,
    extraCmdline: b.opts.extraCmdline,
    pid1: b.ctx.pid1,
    baseSha256: b.model ? modelSha256(b.model.source) : null,
    stateDir: b.config.state_dir,
    stateDirByDefault: b.stateDirByDefault,
  });
  // The preflight can take a while (its questions have 30 s each): a shutdown asked meanwhile goes
  // on alone (the handoff ran beside it: phases handed over while they were being stopped).
  const shuttingDown = () => new NotNowError("re-exec: the machine began shutting down while the new image was asked; it shuts down instead");
  if (b.signals.isRequested) throw shuttingDown();
  const done = Promise.withResolvers<void>();
  handover.busy = done.promise;
  // Before the first part: a request carried out between two parts (the services' snapshot, then the
  // evolution's wait for the journal) was acknowledged by this image and missing from the handoff.
  const holding = started.filter((s) => s.run.beginHandover);
  for (const s of holding) s.run.beginHandover!();
  const parts: Record<string, unknown> = {};
  const paused: StartedPhase[] = [];
  // Every paused phase is resumed, each on its own: one that throws no longer leaves those after it
  // paused (the beat frozen, the watchdog petted by its timer for good).
  const resumeAll = async () => {
    for (const s of paused.reverse()) {
      try {
        await s.run.resume?.();
      } catch (e) {
        log.error("a phase could not resume after the handover (the re-exec did not happen)", { phase: s.phase.name, error: describeError(e) });
      }
    }
  };
  try {
    try {
      for (const s of [...started].reverse()) {
        if (!s.run.handoff) continue;
        parts[s.phase.name] = await s.run.handoff();
        paused.push(s);
      }
    } catch (e) {
      // A phase could not hand over: the ones already paused carry on (a failing one undoes itself).
      await resumeAll();
      throw e;
    }
    // Asked during the handoff: the shutdown goes first (the phases resume, then stop in order).
    if (b.signals.isRequested) {
      await resumeAll();
      throw shuttingDown();
    }
    try {
      // From here to the execve nothing awaits: these parts are what the processes are at the exec.
      for (const s of started) {
        if (!s.run.handoffAtExec) continue;
        // Resumed too when the exec fails (what it kept open across the exec is close-on-exec again),
        // and when its own part throws halfway (some pipes already made inheritable).
        if (!paused.includes(s)) paused.push(s);
        parts[s.phase.name] = s.run.handoffAtExec();
      }
    } catch (e) {
      await resumeAll();
      throw e;
    }
    const state: Handoff = { version: HANDOFF_VERSION, generation: b.generation + 1, execBoottimeNs: b.ctx.execBoottimeNs, bootArgs: b.opts, parts };
    const err = reexec(state, b.config.run_dir, path);
    await resumeAll();
    throw err;
  } finally {
    for (const s of holding) s.run.endHandover?.();
    handover.busy = null;
    done.resolve();
  }
}
