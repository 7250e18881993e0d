// Parses the top-level command line: `[OPTIONS] [--] CMD` (tini mode), a subcommand, --help, --version.
import pkg from "../../package.json" with { type: "json" };
import { versionLine } from "../boot/handoff-version.ts";
import { describeError, exitCodeOf, ExitCode, UsageError } from "../errors.ts";
import { logger } from "../log.ts";
import { wantsHelp } from "./command.ts";
import { registry } from "./registry.ts";
import { jitInteractive } from "../util/jit-policy.ts";
import { out } from "../util/stdout.ts";

const log = logger("cli");

export const version: string = pkg.version;

export function mainHelp(): string {
  const width = Math.max(...Object.keys(registry).map((k) => k.length));
  const cmds = Object.entries(registry)
    .map(([k, e]) => `  ${k.padEnd(width)}  ${e.summary}`)
    .join("\n");
  return `vector-boot ${version}: a PID 1 that boots straight into a GGUF neural runtime.

Usage:
  vector-boot [OPTIONS] [--] CMD [ARGS...] run CMD as the main child (tini / dumb-init style;
                                           "--" needed only with no OPTIONS or a CMD
                                           starting with "-")
  vector-boot COMMAND [OPTIONS]            (PID 1 with no arguments runs "boot")
  vector-boot COMMAND --help

Commands:
${cmds}

Options before CMD, which starts after "--" or at the first word that is no option (tini's and
dumb-init's; quiet unless something goes wrong):
  -g, --group             forward signals to CMD's whole process group (dumb-init's default)
  -c, --single-child      forward signals to CMD alone (the default; undoes -g)
  -r, --rewrite S:R       forward signal S as R (numbers or names, e.g. 15:2 or TERM:INT);
                          R = 0 drops S; repeatable
  -e, --remap-exit CODE   exit 0 when CMD exits with CODE (0-255); repeatable
  -p, --parent-death-signal SIG
                          the init gets SIG (and forwards it) when its parent dies
  -w, --warn-reaped       warn about every reaped process that is not CMD (a zombie)
  -v, --verbose           the init's debug lines on stderr
  -s, --subreaper         accepted for tini; outside PID 1 the init always is a subreaper
  --grace MS              term-grace-kill: how long the rest get after SIGTERM before SIGKILL
                          (default 5000)
  --leftovers POLICY      what happens to processes left when CMD exits:
                            term-grace-kill  SIGTERM, wait up to --grace, SIGKILL (default)
                            term-exit        dumb-init's: SIGTERM (as -r rewrites it) to CMD's group
                                             (with -g), exit at once
  -h, --help              this help;  -V, --version: the version;  -l, --license: the license
  SIGTSTP, SIGTTIN and SIGTTOU are forwarded, then the init stops itself (job control; not as PID 1).
Environment: DUMB_INIT_SETSID=1 / 0 as -g / -c, DUMB_INIT_DEBUG=1 or TINI_VERBOSITY=2+ as -v,
TINI_KILL_PROCESS_GROUP (set, even empty, as tini) as -g; options given on the command line win.

Exit codes: see the README (0 ok, 1 runtime init failed, 2 model failed, 64 usage, 65 bad data,
70 internal, 71 system call failed, 74 I/O (journal, output), 75 not now (try again later), 78 config,
126/127 command not executable/found, 128+N child killed by signal N).
`;
}

async function runTiniArgs(args: string[], pid1: boolean): Promise<number> {
  const { parseTiniArgs } = await import("../init/tini-options.ts");
  const req = parseTiniArgs(args, process.env);
  if (req.kind !== "run") quietOnClosedPipe(pid1);
  switch (req.kind) {
    case "help":
      process.stdout.write(mainHelp());
      return ExitCode.ok;
    case "version":
      process.stdout.write(versionLine(pkg.version));
      return ExitCode.ok;
    case "license":
      process.stdout.write(`vector-boot ${version} is free software under the ${pkg.license} license.\n`);
      return ExitCode.ok;
  }
  const { runTini } = await import("../init/tini.ts");
  return runTini(req.options);
}

/**
 * `vector-boot inspect big.gguf | head`: a closed pipe ends the command quietly. Installed only for
 * commands (not tini mode): touching process.stdout creates Bun's stream, ~3 ms of start-up.
 */
function quietOnClosedPipe(pid1: boolean): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE" && !pid1) process.exit(0);
  });
}

/** Runs the CLI; resolves to the exit code. Errors are printed as one line, never a stack trace. */
export async function runCli(args: string[], pid1: boolean): Promise<number> {
  try {
    const first = args[0];
    const help = first === "--help" || first === "-h" || first === "help";
    const version = first === "--version" || first === "-V";
    if (first !== undefined && !help && !version && first.startsWith("-")) return await runTiniArgs(args, pid1);
    // The boot writes its console with src/util/console-out.ts (no stream unless needed; a closed
    // console never ends it); the tools print with the stream.
    const booting = first === "boot" || (first === undefined && pid1);
    if (!booting) {
      quietOnClosedPipe(pid1);
      jitInteractive(); // a tool is interactive from the start; the boot is at its first beat
    }
    if (first === undefined) {
      if (pid1) return await (await registry.boot!.load()).command.run([]);
      // A usage error: the help on stderr (stdout is for what a command was asked to print).
      process.stderr.write(mainHelp());
      return ExitCode.usage;
    }
    // `vector-boot help COMMAND` is `vector-boot COMMAND --help` (it printed the main help).
    if (first === "help" && args[1] !== undefined) return await runCli([args[1], "--help"], pid1);
    // Through out(): a write that fails (a full disk) is the exit status, not 0.
    if (help) {
      out(mainHelp());
      return ExitCode.ok;
    }
    if (version) {
      out(versionLine(pkg.version));
      return ExitCode.ok;
    }
    // Own keys only: `vector-boot constructor` is no command (it was "not available in this build").
    const entry = Object.hasOwn(registry, first) ? registry[first] : undefined;
    if (!entry) throw new UsageError(`unknown command ${JSON.stringify(first)} (see vector-boot --help)`);
    let mod: { command: { run(a: string[]): Promise<number>; help: string } };
    try {
      mod = await entry.load();
    } catch (e) {
      throw new UsageError(`command ${first} is not available in this build: ${describeError(e)}`);
    }
    const rest = args.slice(1);
    if (wantsHelp(rest)) {
      out(mod.command.help);
      return ExitCode.ok;
    }
    return await mod.command.run(rest);
  } catch (e) {
    const code = exitCodeOf(e);
    log.error(describeError(e), { exit: code });
    return code;
  }
}
