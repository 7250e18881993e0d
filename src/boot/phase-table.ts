// The boot sequence as a table of phases: run top to bottom; shutdown walks it bottom to top.
import { z } from "../util/zod-mini.ts";
import { Watchdog } from "../heartbeat/watchdog.ts";
import { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { loadBootConfig, removeScratch } from "./config-phase.ts";
import { startControl } from "./control-phase.ts";
import { bootCmdline } from "./boot-options.ts";
import { earlySetup } from "./early-setup.ts";
import { openEvolutionPhase } from "./evolution-phase.ts";
import { type EvolutionPart, releaseInherited } from "../evolution/handover.ts";
import { startHeartbeat } from "./heartbeat-phase.ts";
import type { InterruptCarry } from "../heartbeat/interrupt-carry.ts";
import { handedOver, type Boot, type Phase } from "./phase.ts";
import { lazy } from "../util/lazy.ts";
import { dropPrivileges } from "./privileges.ts";
import { initRuntime, loadModel } from "./runtime-phase.ts";
import { startServices, stopServices } from "./services-phase.ts";
import { MAIN_EXITED } from "./exit-status.ts";
import { ShutdownSignals } from "./shutdown-signals.ts";
import { missingStateDisk, prepareStorage } from "./storage-phase.ts";

const log = logger("boot");

// The re-exec parts' schemas are built when a part is read (after a live re-exec), not by every boot at import.
const watchdogHandoff = lazy(() => z.strictObject({ fd: z.int().check(z.minimum(0)), path: z.string() }));

// Loose (unknown keys dropped): a part written by a later image still gives its beat number.
const heartbeatHandoff = lazy(() =>
  z.object({
    beat: z.int().check(z.minimum(0)),
    interrupts: z.optional(
      z.array(
        z.object({
          name: z.string(),
          raisedAgoMs: z.nullable(z.number().check(z.minimum(0))),
          actedAgoMs: z.nullable(z.number().check(z.minimum(0))),
          raised: z.int().check(z.minimum(0)),
          awaitingTarget: z.optional(z.boolean()),
        }),
      ),
    ),
    firstBeatBoottimeMs: z.optional(z.number().check(z.minimum(0))),
  }),
);

/** The previous image's beat number and interrupt state (none: a fresh boot, or a part it cannot read). */
function heartbeatCarried(b: Boot): { startBeat: number; interrupts?: InterruptCarry[]; firstBeatBoottimeMs?: number } {
  const part = handedOver(b, "heartbeat");
  if (part === undefined) return { startBeat: 0 };
  const r = heartbeatHandoff().safeParse(part);
  if (!r.success) return { startBeat: 0 };
  return { startBeat: r.data.beat, ...(r.data.interrupts ? { interrupts: r.data.interrupts } : {}), ...(r.data.firstBeatBoottimeMs !== undefined ? { firstBeatBoottimeMs: r.data.firstBeatBoottimeMs } : {}) };
}

/**
 * Each phase's `start` fills in its part of the boot state and returns what it owns: `stop` (run at
 * shutdown, in reverse order, under one deadline), `handoff`/`resume` (a live re-exec: every phase
 * writes its part, in reverse order, then execve; the next image's phases read their own part back).
 */
export const bootPhases: readonly Phase[] = [
  {
    // As PID 1: mount what the pre-init left out, /dev/kmsg, ctrl-alt-del; else become a subreaper.
    name: "early",
    start: (b) => {
      b.ctx = earlySetup({ cmdline: bootCmdline(b.opts), resumed: b.handoff !== null });
    },
  },
  {
    // From here on every zombie is reaped, during model load, replay and mount waits too. After a
    // re-exec, exits nobody owns yet are held for the services phase (a service may end meanwhile).
    name: "reaper",
    start: (b) => {
      b.reaper = new Reaper();
      if (b.handoff) b.reaper.parkUnowned();
      b.reaper.start();
      return { stop: () => b.reaper.stop() };
    },
  },
  {
    // After a live re-exec: the watchdog the previous image handed over is petted on a timer from here,
    // through the config, the model load, the journal's replay and the services, until the watchdog
    // phase keeps it (the beat then pets it) or disarms it (a config with none): nothing petted it
    // from the exec to the first beat (a large model or a long replay outlasted a 10 s timeout), and
    // a config without one left it open and armed, unpetted, until the machine reset.
    name: "handed-watchdog",
    start: (b) => {
      const part = handedOver(b, "watchdog");
      const r = part === undefined ? null : watchdogHandoff().safeParse(part);
      if (!r?.success) return;
      const wd = new Watchdog(r.data.path);
      if (!wd.adopt(r.data.fd)) return;
      wd.keepAlive();
      b.handedWatchdog = wd;
      return { stop: () => (b.ctx.pid1 ? wd.keepAlive() : wd.disarm()) };
    },
  },
  {
    name: "config",
    start: (b) => {
      const { config, scratch, stateDirByDefault } = loadBootConfig(b.ctx, b.opts, handedOver(b, "config"));
      b.config = config;
      b.stateDirByDefault = stateDirByDefault;
      // A development boot's own directory (mkdtemp): kept across a live re-exec, removed at the end when empty.
      return scratch ? { handoff: () => ({ scratch }), stop: () => removeScratch(scratch) } : {};
    },
  },
  {
    // SIGTERM/SIGINT/SIGUSR2/SIGPWR become one shutdown request; handlers stay until the very end
    // (no stop: the process exits or reboot(2) ends it with them), so a second signal during shutdown
    // cannot kill the init. Their stop removed them before the sync and the status line: outside PID 1
    // a SIGINT then killed the init (130, no status line, no exit status).
    name: "signals",
    start: (b) => {
      b.signals = new ShutdownSignals(b.ctx.pid1).install();
    },
  },
  {
    // PID 1: kernel modules and configured mounts (the state disk); unmounted after every flush.
    name: "storage",
    start: async (b) => {
      const unmount = await prepareStorage(b.ctx, b.config, b.handoff !== null, () => b.signals.isRequested);
      b.stateDiskMissing = b.ctx.pid1 ? missingStateDisk(b.config) : null;
      return unmount ? { stop: unmount } : {};
    },
  },
  {
    // Map the model read-only (embedded, .rts, .gguf), validate it, pixel self-test, worker threads.
    name: "runtime",
    start: async (b) => {
      const runtime = (b.runtime = await initRuntime());
      b.model = await loadModel(b.config, runtime);
      return { stop: () => runtime.cleanup() };
    },
  },
  {
    // Journal recovery, newest checkpoint, replay, the evolution channel; final checkpoint at stop.
    name: "evolution",
    start: async (b) => {
      if (b.stateDiskMissing) {
        // Never acknowledge a mutation as durable into RAM.
        log.error("evolution disabled: the state disk is not mounted", { state_dir: b.config.state_dir, mount: b.stateDiskMissing });
        releaseInherited(handedOver(b, "evolution"), "the state disk is not mounted");
        return {};
      }
      // After a re-exec the producer sessions are adopted (their part names the inherited fds).
      const evolution = (b.evolution = await openEvolutionPhase(b.ctx, b.config, b.runtime!, b.model!, handedOver(b, "evolution")));
      if (!evolution) return {};
      let part: EvolutionPart | null = null;
      return {
        stop: () => evolution.close(),
        // The last part written before the execve (the table walked in reverse): nothing runs between its snapshot and the exec.
        handoff: async () => (part = await evolution.handOver()),
        // The state dir's lock, at the exec itself: it was let go at the exec and taken again only in
        // the next image's evolution phase, after its model load; meanwhile another init or the offline
        // `journal` command could take the directory. Inheritable only here: a service restarted while
        // later parts were written would have kept the state dir locked for as long as it ran.
        handoffAtExec: () => ({ ...part!, stateLock: evolution.handOverLock() }),
        resume: () => evolution.resume(),
      };
    },
  },
  {
    // Listens before services start, so a service may use it at once.
    name: "control",
    start: (b) => startControl(b) ?? {},
  },
  {
    // The main service's own exit ends the machine: ordered shutdown, power-off, its status.
    name: "services",
    start: (b) => {
      const onMainExit = (exit: NonNullable<Boot["mainExit"]>) => {
        b.mainExit = exit;
        b.signals.request({ reason: MAIN_EXITED, mode: "poweroff" });
      };
      const supervisor = (b.supervisor = startServices(b.config, b.reaper, handedOver(b, "services"), b.ctx.pid1, onMainExit));
      return {
        stop: () => stopServices(supervisor, b.reaper, b.config.grace_ms, b.ctx.pid1, b.config.services),
        // At the exec, not in its turn: the evolution's part waits for the journal after it, and a
        // service that exited meanwhile and was restarted by this image ran on unwatched (the new
        // image adopted the dead pid, found it gone and started another).
        handoffAtExec: () => supervisor.snapshot(),
        // The exec failed: the notify socket and the services' pipes are close-on-exec again.
        resume: () => supervisor.endHandover(),
      };
    },
  },
  {
    // PID 1 gives up the capabilities neither it nor a service needs.
    name: "privileges",
    start: (b) => dropPrivileges(b.ctx, b.config, b.supervisor?.cgroupRemovalNeedsOverride ?? false),
  },
  {
    // Armed here and never disarmed as PID 1: petted by the beat, then by a timer through the whole
    // shutdown until reboot(2) (if that hangs, the machine resets), and handed to the next image at a
    // re-exec (the descriptor stays open across execve). Outside PID 1 it is disarmed at the end.
    name: "watchdog",
    start: (b) => {
      const path = b.config.heartbeat.watchdog;
      const handed = b.handedWatchdog;
      // The device handed over at a re-exec: kept when the config still names it, else disarmed
      // (magic close) before another is opened (a watchdog opens once: EBUSY while it is held).
      const kept = handed !== undefined && path !== false && handed.isDeviceAt(path);
      if (handed !== undefined && !kept) {
        log.info(path === false ? "the config has no watchdog: the one handed over is disarmed" : "the config names another watchdog: the one handed over is disarmed", { device: handed.path });
        handed.disarm();
      }
      if (path === false) return;
      const wd = kept ? handed : new Watchdog(path);
      if (!kept && !wd.open()) return;
      b.watchdog = wd;
      return {
        stop: () => (b.ctx.pid1 ? wd.keepAlive() : wd.disarm()),
        handoff: () => ({ fd: wd.descriptor, path }),
        // Inheritable only at the exec itself: from the handoff on, while the later parts were written
        // (a journal's wait), a service restarted or a hook run inherited /dev/watchdog and could pet it.
        handoffAtExec: () => {
          wd.handOver(true);
          return { fd: wd.descriptor, path };
        },
        resume: () => wd.handOver(false),
      };
    },
  },
  {
    name: "heartbeat",
    start: async (b) => {
      const parts = () => ({ runtime: b.runtime!, supervisor: b.supervisor!, signals: b.signals, drain: b.evolution?.drain, afterFirstBeat: () => b.evolution?.reportSafety(), ...(b.watchdog ? { watchdog: b.watchdog } : {}) });
      b.heartbeat = await startHeartbeat(b.ctx, b.config, { ...parts(), ...heartbeatCarried(b) });
      // The beat pets from now on (the timer of a watchdog handed over at a re-exec stops).
      b.watchdog?.stopKeepAlive();
      let frozenAt = 0;
      let interrupts: InterruptCarry[] = [];
      let firstBeat: number | null = null;
      return {
        stop: async () => void (await b.heartbeat?.stop()),
        // Freeze the beat for the exec; the next image continues the numbering and the interrupts' state.
        // The watchdog is petted by a timer from the freeze to the exec: the handover after it (the
        // evolution's wait for its journal and a checkpoint under way) is unbounded, and the beat no
        // longer pets (a multi-second checkpoint left it unpetted that long; a stalled disk, until it reset).
        handoff: async () => {
          frozenAt = await b.heartbeat!.stop();
          interrupts = b.heartbeat!.carryInterrupts();
          firstBeat = b.heartbeat!.firstBeatBoottimeMs();
          b.watchdog?.keepAlive();
          return { beat: frozenAt, interrupts, ...(firstBeat !== null ? { firstBeatBoottimeMs: firstBeat } : {}) };
        },
        resume: async () => {
          b.watchdog?.stopKeepAlive();
          b.heartbeat = await startHeartbeat(b.ctx, b.config, { ...parts(), startBeat: frozenAt, interrupts, ...(firstBeat !== null ? { firstBeatBoottimeMs: firstBeat } : {}) });
        },
      };
    },
  },
  {
    // Last, so its stop runs first: the lease is revoked before services stop. Never waits on etcd.
    // The etcd code is loaded only with a `fleet` section (a node without one never evaluates it).
    name: "fleet",
    start: async (b) => (b.config.fleet ? (await import("./fleet-phase.ts")).startFleet(b) : undefined),
  },
];
