// Subcommand options, one way for every command: node's strict parseArgs, then zod; every failure a UsageError naming the option and the help to read.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UsageError } from "../errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** "(see vector-boot HELP --help)": `help` is the command whose --help explains the options (default: `command`). */
const seeHelp = (command: string, help?: string) => `(see vector-boot ${help ?? command} --help)`;

/** Options where the last one given wins (where to connect, how long to wait): an alias's default overridden. */
const lastWins: ReadonlySet<string> = new Set(["socket", "timeout", "endpoints"]);

/** Strict parseArgs (unknown options refused); its errors become UsageError. */
export function readOptions<const O extends Options>(command: string, args: string[], options: O, o: { positionals?: boolean; help?: string } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: o.positionals ?? true, strict: true, tokens: true });
  } catch (cause) {
    // Without its advice on positionals that start with '-' (a sentence whose quote is never closed),
    // and on one line (an ambiguous option's message was three).
    const text = (cause as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, "").replace(/\s*\n\s*/g, " ");
    throw new UsageError(`${command}: ${text} ${seeHelp(command, o.help)}`);
  }
  // A data option given twice with two values: the last one silently won (`--values x --values 1`
  // wrote 1; `initramfs --config a --config b` baked in b). A flag given twice, the same value twice, or
  // a connection option (an alias's --socket overridden on its command line) keep the last one.
  const seen = new Map<string, string | undefined>();
  for (const t of parsed.tokens) {
    if (t.kind !== "option" || options[t.name]?.multiple || options[t.name]?.type !== "string" || lastWins.has(t.name)) continue;
    if (seen.has(t.name) && seen.get(t.name) !== t.value) throw new UsageError(`${command}: option --${t.name} given more than once, with two values ${seeHelp(command, o.help)}`);
    seen.set(t.name, t.value);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** `raw` through `schema`; the first issue becomes a UsageError naming its option (`positionals`: the arguments). */
export function checkOptions<S extends z.ZodType>(command: string, schema: S, raw: unknown, help?: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = issue.path.length === 0 || issue.path[0] === "positionals" ? "arguments" : `--${issue.path.join(".")}`;
    throw new UsageError(`${command}: ${name}: ${issue.message} ${seeHelp(command, help)}`);
  }
  return r.data;
}

/** Parses `args` strictly and checks options and positionals (as `positionals`) with `schema`. */
export function parseCommandArgs<S extends z.ZodType>(command: string, args: string[], options: Options, schema: S): z.infer<S> {
  const parsed = readOptions(command, args, options);
  return checkOptions(command, schema, { ...parsed.values, positionals: parsed.positionals });
}

export const nonEmpty = z.string().min(1, "must not be empty");

export { out } from "./stdout.ts";
