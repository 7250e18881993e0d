// `vector-boot boot`: parses its options and runs the boot sequence (src/boot/boot.ts).
import type { BootOptions } from "../boot/boot-options.ts";
import { type ConfigError, UsageError } from "../errors.ts";
import type { Command } from "./command.ts";

export type { BootOptions };

const help = `Usage: vector-boot boot [--config FILE] [--model FILE] [--cmdline "vector.k=v ..."] [--set k=v ...]

Runs the whole boot: early setup (mounts, kmsg, ctrl-alt-del) when PID 1, else as a child
subreaper; the neural runtime and its model; services; the heartbeat; ordered shutdown on
SIGTERM/SIGINT/SIGPWR. PID 1 runs this by default.

Options:
  --config FILE     JSON config file (see README "Config")
  --model FILE      a .gguf or .rts to boot instead of the embedded model
  --cmdline STR     kernel command line to read vector.* keys from (PID 1 reads /proc/cmdline;
                    outside PID 1 the default is the VECTOR_BOOT_CMDLINE environment variable)
  --set KEY=VALUE   one vector.KEY=VALUE override (repeatable), e.g. --set shutdown_after=5
  --check           only read --config FILE as the boot would, and say whether it is accepted
                    (exit 0, or 78 naming the problem); a live re-exec asks the new image this
  -h, --help        this help
`;

export function parseBootArgs(args: string[]): BootOptions {
  const o: BootOptions = { extraCmdline: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`boot: ${a} needs a value`);
      return v;
    };
    if (a === "--config" || a === "-c") o.configFile = next();
    else if (a === "--model" || a === "-m") o.model = next();
    else if (a === "--cmdline") o.cmdline = next();
    else if (a === "--set") o.extraCmdline.push(`vector.${next()}`);
    else if (a.startsWith("--config=")) o.configFile = a.slice(9);
    else if (a.startsWith("--model=")) o.model = a.slice(8);
    else throw new UsageError(`boot: unknown option ${JSON.stringify(a)} (see vector-boot boot --help)`);
    // `--model "$MODEL"` with MODEL unset booted the embedded model without a word.
    if (o.model === "" || o.configFile === "") throw new UsageError(`boot: ${a.split("=")[0]} needs a non-empty value (see vector-boot boot --help)`);
  }
  return o;
}

export const command: Command = {
  name: "boot",
  summary: "Boot the machine (or a subreaper session)",
  help,
  async run(args) {
    if (args.includes("--check")) return checkConfig(parseBootArgs(args.filter((a) => a !== "--check")));
    // Loaded only to boot: tini mode and the tools start without the boot phases.
    const { boot } = await import("../boot/boot.ts");
    return boot(parseBootArgs(args));
  },
};

/**
 * `boot --check --config FILE [--set K=V ...]`: the file (and the overrides) read as the boot reads them; a problem that would make the
 * boot stop (or PID 1 drop the file for the defaults) is thrown (exit 78), a service whose uid
 * cannot be resolved here is a warning (PID 1 leaves that service out).
 */
async function checkConfig(o: BootOptions): Promise<number> {
  if (o.configFile === undefined) throw new UsageError("boot --check needs --config FILE");
  const { readConfigFile } = await import("../config/load.ts");
  const warnings: ConfigError[] = [];
  readConfigFile(o.configFile, warnings);
  // The overrides given with it are read as the boot reads them: a bad one said "config ok".
  if (o.cmdline !== undefined || o.extraCmdline.length > 0) {
    const { parseCmdline } = await import("../config/cmdline.ts");
    const bad = parseCmdline(o.cmdline ?? "", o.extraCmdline).errors[0];
    if (bad) throw bad;
  }
  for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
  process.stdout.write(`config ok: ${o.configFile}\n`);
  return 0;
}
