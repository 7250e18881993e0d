// Kernel command line: tokenizes /proc/cmdline and maps `vector.*` keys onto config overrides.
import { z } from "../util/zod-mini.ts";
import { ConfigError } from "../errors.ts";
import { decimalNumber, notDecimal } from "../util/decimal.ts";
import { hostnameText, logLevels, moduleNameText, shutdownModes } from "./schema.ts";

/** Splits a kernel command line like the kernel does (spaces separate, double quotes group). */
export function tokenizeCmdline(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inQuote = false;
  let has = false;
  for (const ch of line.slice(0, 65_536)) {
    if (ch === '"') {
      inQuote = !inQuote;
      has = true;
    } else if (!inQuote && /\s/.test(ch)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

// Decimal text only: Number() would take "" as 0 and "0x10" as 16.
const decimal = <T extends z.ZodMiniType<number, number>>(n: T) => z.pipe(z.string().check(z.regex(decimalNumber, notDecimal)), z.pipe(z.transform(Number), n));
const num = (min: number, max: number) => decimal(z.number().check(z.refine((n) => Number.isFinite(n) && n >= min && n <= max, `must be a number from ${min} to ${max}`)));
const int = (min: number, max: number) => decimal(z.number().check(z.int("must be an integer"), z.minimum(min), z.maximum(max)));
const bool = () =>
  z.pipe(
    z.enum(["0", "1", "true", "false", "yes", "no"]),
    z.transform((v) => v === "1" || v === "true" || v === "yes"),
  );
const text = () => z.string().check(z.minLength(1));
const list = () => z.pipe(z.string(), z.transform((s) => s.split(",").filter(Boolean)));

/**
 * Each `vector.KEY=VALUE` the init understands (the config field it overrides), with its schema
 * built only when the key is given: a boot parses a few keys, or none, of the 20.
 */
export const cmdlineKeys = {
  heartbeat_ms: () => int(1, 60_000),
  heartbeat_log_every: () => int(0, 1_000_000),
  shutdown: () => z.enum(shutdownModes),
  shutdown_after: () => num(0, 31_536_000),
  log_level: () => z.enum(logLevels),
  model: text,
  config: text,
  state_dir: text,
  hostname: hostnameText,
  grace_ms: () => int(0, 3_600_000),
  shutdown_deadline_ms: () => int(100, 3_600_000),
  pixel_test: bool,
  run_dir: text,
  evolution: bool,
  modules: () => z.pipe(list(), z.array(moduleNameText())),
  // The fleet section's scalar fields (merged over the file's `fleet`, validated with it).
  "fleet.endpoints": list,
  "fleet.name": text,
  "fleet.node_id": text,
  "fleet.lease_ttl_s": () => int(10, 3600),
  "fleet.quorum": () => int(1, 100_000),
} as const;
export type CmdlineOverrides = { [K in keyof typeof cmdlineKeys]?: z.infer<ReturnType<(typeof cmdlineKeys)[K]>> };

export interface CmdlineResult {
  overrides: CmdlineOverrides;
  /** One ConfigError per bad or unknown `vector.*` key (the caller decides: stop, or warn and use defaults). */
  errors: ConfigError[];
}

/**
 * Parses every `vector.*` token of `line`, then the `tokens` given whole (`--set KEY=VALUE`: a value
 * with spaces stays one token); other tokens belong to the kernel or other programs.
 */
export function parseCmdline(line: string, tokens: readonly string[] = []): CmdlineResult {
  const overrides: Record<string, unknown> = {};
  const errors: ConfigError[] = [];
  const lineTokens = tokenizeCmdline(line);
  for (const [i, tok] of [...lineTokens, ...tokens].entries()) {
    if (!tok.startsWith("vector.")) continue;
    const eq = tok.indexOf("=");
    const key = eq < 0 ? tok.slice(7) : tok.slice(7, eq);
    const bare = eq < 0;
    const value = bare ? "1" : tok.slice(eq + 1);
    // Named the way the user gave it: an error in `--set KEY=VALUE` said "kernel command line".
    const fromLine = i < lineTokens.length;
    const prefix = fromLine ? "vector." : "";
    const field = fromLine ? `kernel command line vector.${key}` : `--set ${key}`;
    // Own keys only: `vector.constructor` names Object's, not a setting (it failed the boot).
    if (!Object.hasOwn(cmdlineKeys, key)) {
      errors.push(new ConfigError(field, `unknown key (known: ${Object.keys(cmdlineKeys).map((k) => `${prefix}${k}`).join(", ")})`));
      continue;
    }
    const schema = (cmdlineKeys as Record<string, () => z.ZodMiniType>)[key]!;
    // A bare `vector.KEY` means true, for a yes/no key only (`vector.heartbeat_ms` alone set 1 ms).
    if (bare && schema !== bool) {
      errors.push(new ConfigError(field, `needs a value (${prefix}${key}=VALUE)`));
      continue;
    }
    const r = schema().safeParse(value);
    if (r.success) overrides[key] = r.data;
    else errors.push(new ConfigError(field, `bad value ${JSON.stringify(value)}: ${r.error.issues.map((i) => i.message).join("; ")}`));
  }
  return { overrides: overrides as CmdlineOverrides, errors };
}
