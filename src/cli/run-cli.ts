// Parses the top-level command line: `-- CMD` (tini mode), a subcommand, --help, --version.
import pkg from "../../package.json" with { type: "json" };
import { describeError, exitCodeOf, ExitCode, UsageError } from "../errors.ts";
import { logger } from "../log.ts";
import { wantsHelp } from "./command.ts";
import { registry } from "./registry.ts";

const log = logger("cli");

export const version: string = pkg.version;

export function mainHelp(): string {
  const width = Math.max(...Object.keys(registry).map((k) => k.length));
  const cmds = Object.entries(registry)
    .map(([k, e]) => `  ${k.padEnd(width)}  ${e.summary}`)
    .join("\n");
  return `vector-boot ${version}: a PID 1 that boots straight into a GGUF neural runtime.

Usage:
  vector-boot [-g] [--grace MS] -- CMD [ARGS...]   run CMD as the main child (tini style)
  vector-boot COMMAND [OPTIONS]                     (PID 1 with no arguments runs "boot")
  vector-boot COMMAND --help

Commands:
${cmds}

tini-style options:
  -g, --group     forward signals to the child's whole process group
  --grace MS      after the child exits, how long the rest get after SIGTERM before SIGKILL (default 5000)

Exit codes: see the README (0 ok, 1 runtime init failed, 2 model failed, 64 usage, 65 bad data,
70 internal, 71 system call failed, 74 journal I/O, 78 config, 126/127 command not executable/found,
128+N child killed by signal N).
`;
}

async function runTiniArgs(args: string[]): Promise<number> {
  let group = false;
  let graceMs = 5000;
  let i = 0;
  for (; i < args.length && args[i] !== "--"; i++) {
    const a = args[i]!;
    if (a === "-g" || a === "--group") group = true;
    else if (a === "--grace") {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 0) throw new UsageError(`--grace needs a whole number of milliseconds, got ${JSON.stringify(args[i])}`);
      graceMs = v;
    } else throw new UsageError(`unknown option ${JSON.stringify(a)} before "--" (see vector-boot --help)`);
  }
  const argv = args.slice(i + 1);
  if (argv.length === 0) throw new UsageError('nothing to run after "--"');
  const { runTini } = await import("../init/tini.ts");
  return runTini({ argv, group, graceMs });
}

/** Runs the CLI; resolves to the exit code. Errors are printed as one line, never a stack trace. */
export async function runCli(args: string[], pid1: boolean): Promise<number> {
  try {
    if (args.length === 0) {
      if (pid1) return await (await registry.boot!.load()).command.run([]);
      process.stdout.write(mainHelp());
      return ExitCode.usage;
    }
    const first = args[0]!;
    if (first === "--help" || first === "-h" || first === "help") {
      process.stdout.write(mainHelp());
      return ExitCode.ok;
    }
    if (first === "--version" || first === "-V") {
      process.stdout.write(`vector-boot ${version} (bun ${Bun.version})\n`);
      return ExitCode.ok;
    }
    if (first === "--" || first.startsWith("-")) return await runTiniArgs(args);
    const entry = registry[first];
    if (!entry) throw new UsageError(`unknown command ${JSON.stringify(first)} (see vector-boot --help)`);
    let mod: { command: { run(a: string[]): Promise<number>; help: string } };
    try {
      mod = await entry.load();
    } catch (e) {
      throw new UsageError(`command ${first} is not available in this build: ${describeError(e)}`);
    }
    const rest = args.slice(1);
    if (wantsHelp(rest)) {
      process.stdout.write(mod.command.help.endsWith("\n") ? mod.command.help : `${mod.command.help}\n`);
      return ExitCode.ok;
    }
    return await mod.command.run(rest);
  } catch (e) {
    const code = exitCodeOf(e);
    log.error(describeError(e), { exit: code });
    return code;
  }
}
