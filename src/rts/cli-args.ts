// Argument parsing shared by the packaging subcommands (pack, unpack, verify, inspect, initramfs): parseArgs + zod.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UsageError } from "../errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `args` strictly; unknown flags and zod failures become UsageError naming the option. */
export function parseCommandArgs<S extends z.ZodType>(
  command: string,
  args: string[],
  options: Options,
  schema: S,
): z.infer<S> {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new UsageError(`${command}: ${(cause as Error).message} (see vector-boot ${command} --help)`, { cause });
  }
  const r = schema.safeParse({ ...parsed.values, positionals: parsed.positionals });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = issue.path.length ? issue.path.join(".") : "arguments";
    throw new UsageError(`${command}: ${name === "positionals" ? "arguments" : `--${name}`}: ${issue.message} (see vector-boot ${command} --help)`);
  }
  return r.data;
}

export const nonEmpty = z.string().min(1, "must not be empty");

/** Writes one line to stdout. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
