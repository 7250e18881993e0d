// The options of tini mode (`vector-boot [OPTIONS] [--] CMD`): tini's and dumb-init's flags and environment variables.
import { UsageError } from "../errors.ts";
import { addRewrite, requireSignal } from "./signal-rewrite.ts";

/** What happens to the descendants still alive when the main child exits. */
export const leftoverPolicies = ["term-grace-kill", "term-exit"] as const;
export type LeftoverPolicy = (typeof leftoverPolicies)[number];

export interface TiniOptions {
  argv: string[];
  /** Forward signals to the child's whole process group instead of the child alone (-g; -c undoes it). */
  group: boolean;
  /** Bound on waiting for the remaining descendants after the main child exits (then SIGKILL). */
  graceMs: number;
  /** term-grace-kill: SIGTERM every descendant, wait up to graceMs, SIGKILL; term-exit: dumb-init's SIGTERM to the signal target, exit. */
  leftovers: LeftoverPolicy;
  /** Received signal -> forwarded signal (0 drops it), from -r s:r. */
  rewrite: Map<number, number>;
  /** -v: the init's own debug lines on stderr (default: warnings and errors only). */
  verbose: boolean;
  /** TINI_VERBOSITY=0 (tini's silent level): errors only, no warnings (-w's included); -v wins. */
  quiet: boolean;
  /** Exit codes of the main child that the init reports as 0 (tini -e). */
  remapExit: Set<number>;
  /** Signal the init gets when its parent dies (tini -p), forwarded like any other; 0 = none. */
  parentDeathSignal: number;
  /** -w: log every reaped process that was not the main child at warn. */
  warnReaped: boolean;
}

/** A request that is answered without running anything. */
export type TiniRequest = { kind: "run"; options: TiniOptions } | { kind: "help" } | { kind: "version" } | { kind: "license" };

/**
 * Values are checked by hand, not with zod: tini mode must start fast (issue 14) and zod costs ~30 ms
 * to load; every check below is exact and ends in a UsageError naming the option.
 */
const wholeNumber = (v: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined =>
  v !== undefined && /^\d+$/.test(v) && Number(v) <= max ? Number(v) : undefined;

/**
 * TINI_VERBOSITY as tini reads it: atoi into an unsigned level, so a value without a leading number
 * ("", "quiet", "0x2") is 0, the silent level, "2x" is 2, and a negative one the highest.
 */
function tiniVerbosity(v: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(v);
  if (m === null) return 0;
  const n = Number(m[1]);
  return n < 0 ? Number.POSITIVE_INFINITY : n;
}

/** Long options and their short letters; `value` ones take an argument (next word, `=v`, or attached `-xV`). */
const flags: Record<string, { short?: string; value: boolean }> = {
  help: { short: "h", value: false },
  version: { short: "V", value: false },
  license: { short: "l", value: false },
  group: { short: "g", value: false },
  "single-child": { short: "c", value: false },
  rewrite: { short: "r", value: true },
  verbose: { short: "v", value: false },
  "remap-exit": { short: "e", value: true },
  "parent-death-signal": { short: "p", value: true },
  "warn-reaped": { short: "w", value: false },
  subreaper: { short: "s", value: false },
  grace: { value: true },
  leftovers: { value: true },
};
/** Short letter -> long name. A plain loop: flatMap's first use alone cost ~0.2 ms of tini mode's start. */
const byShort = new Map<string, string>();
for (const long in flags) if (flags[long]!.short) byShort.set(flags[long]!.short!, long);

/**
 * Splits the options into (long name, value) pairs, in order, and finds where CMD starts: after `--`, or,
 * as dumb-init's and tini's getopt, at the first word that is no option (`-` alone is one): everything
 * from there is CMD's, its dash options included. `cmd` is -1 when neither came (no command).
 */
function tokenize(words: string[]): { pairs: Array<[string, string | undefined]>; cmd: number } {
  const out: Array<[string, string | undefined]> = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const takeValue = (name: string, attached: string | undefined): void => {
      if (attached !== undefined) out.push([name, attached]);
      else if (i + 1 < words.length && words[i + 1] !== "--") out.push([name, words[++i]]);
      else throw new UsageError(`--${name} needs a value (see vector-boot --help)`);
    };
    if (w === "--") return { pairs: out, cmd: i + 1 };
    if (!w.startsWith("-") || w === "-") return { pairs: out, cmd: i };
    if (w.startsWith("--")) {
      const eq = w.indexOf("=");
      const name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      const f = Object.hasOwn(flags, name) ? flags[name] : undefined; // not `--constructor`
      if (!f) throw new UsageError(`unknown option ${JSON.stringify(w)} (see vector-boot --help)`);
      if (f.value) takeValue(name, eq < 0 ? undefined : w.slice(eq + 1));
      else if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      else out.push([name, undefined]);
      continue;
    }
    // A cluster of short flags (-vvv, -gw); a letter that takes a value ends it (-e3, -p SIGKILL).
    for (let j = 1; j < w.length; j++) {
      const name = byShort.get(w[j]!);
      if (!name) throw new UsageError(`unknown option -${w[j]} in ${JSON.stringify(w)} (see vector-boot --help)`);
      if (flags[name]!.value) {
        takeValue(name, j + 1 < w.length ? w.slice(j + 1) : undefined);
        break;
      }
      out.push([name, undefined]);
    }
  }
  return { pairs: out, cmd: -1 };
}

function required<T>(option: string, parsed: T | undefined, value: string | undefined, what: string): T {
  if (parsed === undefined) throw new UsageError(`${option} needs ${what}, got ${JSON.stringify(value ?? "")}`);
  return parsed;
}

/**
 * Parses the words of tini mode (the options, then CMD: after `--` or from the first word that is no option).
 * The environment is read first (DUMB_INIT_SETSID=1/0 as -g/-c, DUMB_INIT_DEBUG=1 and TINI_VERBOSITY>=2
 * as -v, TINI_VERBOSITY=0 (as tini's atoi reads it) as errors only, TINI_KILL_PROCESS_GROUP as -g); options override it, and of
 * -g and -c the last one wins.
 */
export function parseTiniArgs(args: string[], env: Record<string, string | undefined>): TiniRequest {
  const opts: TiniOptions = {
    argv: [],
    group: false,
    graceMs: 5000,
    leftovers: "term-grace-kill",
    rewrite: new Map(),
    verbose: false,
    quiet: false,
    remapExit: new Set(),
    parentDeathSignal: 0,
    warnReaped: false,
  };
  if (env.TINI_KILL_PROCESS_GROUP !== undefined) opts.group = true; // tini: set, whatever its value (empty too)
  if (env.DUMB_INIT_SETSID === "1") opts.group = true;
  if (env.DUMB_INIT_SETSID === "0") opts.group = false;
  const verbosity = env.TINI_VERBOSITY === undefined ? 1 : tiniVerbosity(env.TINI_VERBOSITY);
  if (env.DUMB_INIT_DEBUG === "1" || verbosity >= 2) opts.verbose = true;
  else if (verbosity === 0) opts.quiet = true;

  const { pairs, cmd } = tokenize(args);
  for (const [name, value] of pairs) {
    switch (name) {
      case "help":
        return { kind: "help" };
      case "version":
        return { kind: "version" };
      case "license":
        return { kind: "license" };
      case "group":
        opts.group = true;
        break;
      case "single-child":
        opts.group = false;
        break;
      case "rewrite":
        addRewrite(opts.rewrite, value);
        break;
      case "verbose":
        opts.verbose = true;
        break;
      case "remap-exit":
        opts.remapExit.add(required("-e", wholeNumber(value, 255), value, "an exit code 0-255"));
        break;
      case "parent-death-signal":
        opts.parentDeathSignal = requireSignal("-p", value);
        break;
      case "warn-reaped":
        opts.warnReaped = true;
        break;
      case "subreaper":
        break; // outside PID 1 the init always is one
      case "grace":
        // setTimeout takes at most 2^31-1 ms (24.8 days): a longer grace was taken as 1 ms, no grace at all.
        opts.graceMs = required("--grace", wholeNumber(value, 2_147_483_647), value, "a whole number of milliseconds, at most 2147483647");
        break;
      case "leftovers":
        opts.leftovers = required("--leftovers", leftoverPolicies.find((p) => p === value), value, `one of ${leftoverPolicies.join(", ")}`);
        break;
    }
  }
  if (cmd < 0) throw new UsageError("no command (vector-boot [OPTIONS] [--] CMD [ARGS...])");
  opts.argv = args.slice(cmd);
  if (opts.argv.length === 0) throw new UsageError('nothing to run after "--"');
  return { kind: "run", options: opts };
}
