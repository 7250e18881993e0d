// `vector-boot boot`: parses its options and runs the boot sequence (src/boot/boot.ts).
import { bootCmdline, type BootOptions } from "../boot/boot-options.ts";
import { UsageError } from "../errors.ts";
import type { Command } from "./command.ts";

export type { BootOptions };

const help = `Usage: vector-boot boot [--config FILE] [--model FILE] [--cmdline "vector.k=v ..."] [--set k=v ...]

Runs the whole boot: early setup (mounts, kmsg, ctrl-alt-del) when PID 1, else as a child
subreaper; the neural runtime and its model; services; the heartbeat; ordered shutdown on
SIGTERM/SIGINT/SIGPWR. PID 1 runs this by default.

Options:
  --config FILE     JSON config file (see README "Config")
  --model FILE      a .gguf or .rts to boot instead of the embedded model
  --cmdline STR     kernel command line to read vector.* keys from (default: the VECTOR_BOOT_CMDLINE
                    environment variable when set and not empty, as PID 1 too; else PID 1 reads
                    /proc/cmdline)
  --set KEY=VALUE   one vector.KEY=VALUE override (repeatable), e.g. --set shutdown_after=5
  --check           only read the config (--config, --cmdline, --set) as the boot would, then map
                    and validate the model it would load, every byte; say whether both are accepted
                    (exit 0 with "config ok", "model ok: NAME sha256=HEX" and "state: DIR", or 78 naming the
                    config problem, 1/2/65 for the model's); a live re-exec asks the new image this
  --as-pid1         with --check: command-line and --set problems are warnings, as PID 1 reads them
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
    if (args.includes("--check")) return checkConfig(parseBootArgs(args.filter((a) => a !== "--check" && a !== "--as-pid1")), args.includes("--as-pid1"));
    // Loaded only to boot: tini mode and the tools start without the boot phases.
    const { boot } = await import("../boot/boot.ts");
    return boot(parseBootArgs(args));
  },
};

/**
 * `boot --check [--config FILE] [--model FILE] [--cmdline LINE] [--set K=V ...]`: what the boot would
 * read, read as it reads it (file, command line and overrides merged, the fleet section included:
 * `readConfigFile` alone said "config ok" for a fleet service without a fleet section, and a bad
 * `fleet.*` override), then the model it would load, mapped and validated whole with the boot's own
 * steps (and its pixel self-test). A problem that would make the boot stop is thrown (78 for the
 * config, 1/2/65 for the model); a service whose uid cannot be resolved here is a warning (PID 1 leaves
 * that service out). Prints `config ok` and `model ok: NAME sha256=HEX` (the base model's identity,
 * which a live re-exec compares with the running one's).
 */
async function checkConfig(o: BootOptions, asPid1: boolean): Promise<number> {
  const { loadConfig } = await import("../config/load.ts");
  const { setLogLevel } = await import("../log.ts");
  // --as-pid1: PID 1 ignores a bad command-line key or --set (warned), so they must not refuse its re-exec.
  const { config, warnings, file } = loadConfig({ file: o.configFile, cmdline: bootCmdline(o), tokens: o.extraCmdline, lenient: false, lenientCmdline: asPid1, idWarnings: true });
  for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
  process.stdout.write(`config ok: ${file ?? "(no file: the defaults)"}\n`);
  if (o.model) config.model = o.model;
  setLogLevel("warn"); // the model's own load lines are the boot's, not the check's
  const { loadModel } = await import("../boot/runtime-phase.ts");
  const { NeuralRuntime } = await import("../neural/runtime.ts");
  const { modelSha256 } = await import("../rts/model-source.ts");
  const runtime = new NeuralRuntime({ threads: 1 });
  // Every byte checked (an embedded model's too: the trailer's recorded hash is not the model), mapped
  // in place (this child is thrown away: a sealed copy cost another copy of the model in RAM).
  const model = await loadModel(config, runtime, { verify: true, inPlace: true });
  process.stdout.write(`model ok: ${model.info.name} sha256=${modelSha256(model.source)}\n`);
  // The state the boot would use (a live re-exec's preflight compares it with the running boot's).
  process.stdout.write(`state: ${config.state_dir ?? "(default)"}\n`);
  runtime.cleanup();
  return 0;
}
