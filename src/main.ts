// vector-boot: the boot sequence of a model appliance (PID 1), and the CLI in front of it.
import type { BootOptions } from "./cli/boot.ts";
import { runCli } from "./cli/run-cli.ts";
import { describeError, exitCodeOf } from "./errors.ts";
import { logger } from "./log.ts";
import type { Closer, LiveParts, ShutdownRequest } from "./boot/phases.ts";

const log = logger("boot");

/**
 * The boot sequence. PID 1: early setup, runtime, model, services, heartbeat until a shutdown
 * request, ordered shutdown, reboot(2). Elsewhere the same as a child subreaper, ending in exit.
 */
export async function boot(opts: BootOptions): Promise<number> {
  const phases = await import("./boot/phases.ts");
  const { consumeHandoff, earlySetup, loadBootConfig, Reaper, ShutdownSignals, prepareStorage, initRuntime, loadModel, openEvolutionPhase } = phases;
  const { armReexec, startControl, startServices, dropPrivileges, startHeartbeat, shutdown } = phases;
  const handoff = consumeHandoff();
  const ctx = earlySetup({ cmdline: opts.cmdline ?? (process.env.VECTOR_BOOT_CMDLINE || undefined), resumed: handoff !== null });
  const config = loadBootConfig(ctx, opts);
  const reaper = new Reaper();
  const signals = new ShutdownSignals(ctx.pid1).install();
  const before: Closer[] = [];
  const after: Closer[] = [];
  // What shutdown, the control socket and a re-exec see; filled in as the boot goes on.
  const live: LiveParts = { supervisor: null, heartbeat: null };
  let status = 0;
  const storageClosers: Closer[] = [];
  try {
    await prepareStorage(ctx, config, storageClosers, handoff !== null);
    const runtime = await initRuntime();
    const model = await loadModel(config, runtime);
    const evolution = await openEvolutionPhase(ctx, config, runtime, model.source, after);
    after.push({ name: "neural runtime", close: () => runtime.cleanup() });
    const booted = Promise.withResolvers<void>();
    const drain = evolution?.drain;
    const reexec = armReexec({ ctx, config, opts, handoff, reaper, runtime, signals, drain, live, booted: booted.promise });
    // The socket listens before services start, so a service may use it at once.
    startControl(config, { runtime, model, evolution, live, signals, generation: handoff?.generation ?? 0, reexec }, before);
    const supervisor = (live.supervisor = startServices(config, reaper, handoff));
    dropPrivileges(ctx, config);
    live.heartbeat = await startHeartbeat(ctx, config, { runtime, supervisor, signals, drain, startBeat: handoff?.beat ?? 0 });
    before.push({ name: "heartbeat", close: async () => void (await live.heartbeat?.stop()) });
    booted.resolve();
  } catch (e) {
    status = exitCodeOf(e);
    log.error("boot failed", { error: describeError(e), exit: status });
    signals.request({ reason: "boot failed" });
  }
  const req: ShutdownRequest = await signals.requested;
  signals.uninstall();
  return shutdown(ctx, config, req, { supervisor: live.supervisor, reaper, before, after: [...after, ...storageClosers] }, status);
}

/** Entry point: PID 1 catches every exception and rejection; nothing may end it unplanned. */
async function main(argv: string[]): Promise<void> {
  const pid1 = process.pid === 1;
  process.on("uncaughtException", (e) => {
    log.error("uncaught exception", { error: describeError(e) });
    if (!pid1) process.exit(exitCodeOf(e));
  });
  process.on("unhandledRejection", (e) => {
    log.error("unhandled rejection", { error: describeError(e) });
    if (!pid1) process.exit(exitCodeOf(e));
  });
  // `vector-boot inspect big.gguf | head`: a closed pipe ends the command quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE" && !pid1) process.exit(0);
  });
  const code = await runCli(argv, pid1);
  if (pid1) {
    // PID 1 only gets here in tini mode (containers): exiting ends the PID namespace on purpose.
    log.info("exiting", { status: code });
  }
  process.exit(code);
}

export type { BootContext } from "./boot/early-setup.ts";

if (import.meta.main) void main(process.argv.slice(2));
