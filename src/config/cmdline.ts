// Kernel command line: tokenizes /proc/cmdline and maps `vector.*` keys onto config overrides.
import { z } from "../util/zod-mini.ts";
import { ConfigError } from "../errors.ts";
import { decimalNumber, notDecimal } from "../util/decimal.ts";
import { hostnameText, logLevels, moduleNameText, numberBounds, pathText, shutdownModes } from "./schema.ts";

/** One parameter of the command line: `value` null for a bare `param` (no '='). */
export interface CmdlineParam {
  param: string;
  value: string | null;
}

/** The kernel's isspace(): its _ctype table (lib/ctype.c) marks \t \n \v \f \r, space, and byte 0xA0 as _S. */
const isKernelSpace = (b: number) => (b >= 0x09 && b <= 0x0d) || b === 0x20 || b === 0xa0;
const QUOTE = 0x22;
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The C string at `from` of `t` (up to its first NUL), as text. */
function cString(t: Uint8Array, from: number): string {
  const nul = t.indexOf(0, from);
  return utf8.decode(t.subarray(from, nul < 0 ? t.length : nul));
}

/** A command line's bytes as the kernel has them: a string is its UTF-8; at most 64 KiB, up to a NUL (the kernel's line ends there). */
function lineBytes(line: string | Uint8Array): Uint8Array {
  const b = (typeof line === "string" ? new TextEncoder().encode(line) : line).subarray(0, 65_536);
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/** A parameter with the bytes of the line it was made from (`from` to `to`, its quotes included). */
interface RawParam extends CmdlineParam {
  from: number;
  to: number;
}

/** parse_args()'s loop over next_arg() (see tokenizeCmdline), on the line's bytes. */
function nextArgs(b: Uint8Array): RawParam[] {
  const out: RawParam[] = [];
  let p = 0;
  while (p < b.length && isKernelSpace(b[p]!)) p++; // parse_args: skip_spaces()
  while (p < b.length) {
    // next_arg(), step by step; `t` is the parameter's bytes, where the kernel writes its NULs.
    const from = p;
    let inQuote = false;
    let quoted = false;
    if (b[p] === QUOTE) {
      p++;
      inQuote = quoted = true;
    }
    let i = 0;
    let equals = 0; // as in C: an '=' at index 0 is not taken for one
    for (; p + i < b.length; i++) {
      const c = b[p + i]!;
      if (isKernelSpace(c) && !inQuote) break;
      if (equals === 0 && c === 0x3d) equals = i;
      if (c === QUOTE) inQuote = !inQuote;
    }
    const t = Uint8Array.from(b.subarray(p, p + i)); // a copy (a Buffer's slice() is a view of the line)
    let valueAt = -1;
    if (equals !== 0) {
      t[equals] = 0;
      valueAt = equals + 1;
      if (valueAt < i && t[valueAt] === QUOTE) {
        valueAt++;
        if (t[i - 1] === QUOTE) t[i - 1] = 0;
      }
    }
    if (quoted && i > 0 && t[i - 1] === QUOTE) t[i - 1] = 0;
    // Each parameter decoded on its own, once split: a byte the kernel splits at is never decoded.
    out.push({ param: cString(t, 0), value: valueAt < 0 ? null : cString(t, valueAt), from, to: p + i });
    p += p + i < b.length ? i + 1 : i;
    while (p < b.length && isKernelSpace(b[p]!)) p++; // skip_spaces()
  }
  return out;
}

/**
 * Splits a kernel command line into parameters exactly as the kernel's parse_args() does with
 * next_arg() (lib/cmdline.c), on the line's bytes (a string: its UTF-8), and only then decodes each
 * parameter and value as UTF-8: only the kernel's spaces separate (not U+2003 and the like; byte
 * 0xA0 does, alone or inside a UTF-8 character: a no-break space, C2 A0, splits after C2 as the
 * kernel's does), a double quote toggles quoting wherever it is and quoted spaces do not separate,
 * and the only quotes removed are one that opens the whole parameter with the last byte if that is
 * a quote, and, after the first '=', one that opens the value with the last byte if that is a quote;
 * the others stay in the value. (Every double quote used to be dropped and any Unicode space split,
 * so a value the kernel hands on as `a"b"c` was taken as `abc`, and one with an em space as two
 * parameters.)
 */
export function tokenizeCmdline(line: string | Uint8Array): CmdlineParam[] {
  return nextArgs(lineBytes(line)).map(({ param, value }) => ({ param, value }));
}

/**
 * /proc/cmdline's bytes as text that tokenizeCmdline splits into the same parameters: each one's
 * bytes decoded on its own, joined by one space. Decoded whole, a 0xA0 byte that is no part of a
 * UTF-8 character (Latin-1's no-break space, a space to the kernel) became U+FFFD and joined the
 * parameters on either side of it. What a parameter decodes to is unchanged by the decoding: UTF-8
 * keeps every ASCII byte (quotes, '=', spaces) where it was, and a 0xA0 left in a parameter is quoted.
 */
export function cmdlineText(bytes: Uint8Array): string {
  const b = lineBytes(bytes);
  return nextArgs(b)
    .map((a) => utf8.decode(b.subarray(a.from, a.to)))
    .join(" ");
}

/**
 * The kernel's own parameters of a command line: parse_args() (kernel/params.c) stops at the first
 * `--` that has no value (`if (!val && strcmp(param, "--") == 0)`, after next_arg(), so `"--"` too)
 * and start_kernel() (init/main.c) hands what follows to init as its argv: a `vector.*` word there
 * is an argument, not a setting (it was read as one and overrode the same key before `--`).
 */
export function kernelParams(line: string | Uint8Array): CmdlineParam[] {
  const all = tokenizeCmdline(line);
  const dashes = all.findIndex((p) => p.value === null && p.param === "--");
  return dashes < 0 ? all : all.slice(0, dashes);
}

/** A `--set KEY=VALUE` token (`vector.` already prefixed), given whole: split at its first '='. */
function splitToken(tok: string): CmdlineParam {
  const eq = tok.indexOf("=");
  return eq < 0 ? { param: tok, value: null } : { param: tok.slice(0, eq), value: tok.slice(eq + 1) };
}

// Decimal text only: Number() would take "" as 0 and "0x10" as 16.
const decimal = <T extends z.ZodMiniType<number, number>>(n: T) => z.pipe(z.string().check(z.regex(decimalNumber, notDecimal)), z.pipe(z.transform(Number), n));
const num = ([min, max]: readonly [number, number]) => decimal(z.number().check(z.refine((n) => Number.isFinite(n) && n >= min && n <= max, `must be a number from ${min} to ${max}`)));
const int = ([min, max]: readonly [number, number]) => decimal(z.number().check(z.int("must be an integer"), z.minimum(min), z.maximum(max)));
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
  heartbeat_ms: () => int(numberBounds.heartbeat_ms),
  heartbeat_log_every: () => int(numberBounds.heartbeat_log_every),
  image_trim_ms: () => int(numberBounds.image_trim_ms),
  shutdown: () => z.enum(shutdownModes),
  shutdown_after: () => num(numberBounds.shutdown_after),
  log_level: () => z.enum(logLevels),
  model: pathText,
  config: text,
  state_dir: pathText,
  hostname: hostnameText,
  grace_ms: () => int(numberBounds.grace_ms),
  shutdown_deadline_ms: () => int(numberBounds.shutdown_deadline_ms),
  pixel_test: bool,
  run_dir: pathText,
  evolution: bool,
  modules: () => z.pipe(list(), z.array(moduleNameText())),
  // The fleet section's scalar fields (merged over the file's `fleet`, validated with it).
  "fleet.endpoints": list,
  "fleet.name": text,
  "fleet.node_id": text,
  "fleet.lease_ttl_s": () => int(numberBounds.lease_ttl_s),
  "fleet.quorum": () => int(numberBounds.quorum),
} as const;
export type CmdlineOverrides = { [K in keyof typeof cmdlineKeys]?: z.infer<ReturnType<(typeof cmdlineKeys)[K]>> };

export interface CmdlineResult {
  overrides: CmdlineOverrides;
  /** One ConfigError per bad or unknown `vector.*` key (the caller decides: stop, or warn and use defaults). */
  errors: ConfigError[];
}

/**
 * Parses every `vector.*` parameter of `line` (up to a `--`: see kernelParams), then the `tokens` given whole (`--set KEY=VALUE`: a value
 * with spaces stays one token); other tokens belong to the kernel or other programs.
 */
export function parseCmdline(line: string, tokens: readonly string[] = []): CmdlineResult {
  const overrides: Record<string, unknown> = {};
  const errors: ConfigError[] = [];
  const lineParams = kernelParams(line);
  for (const [i, { param, value: given }] of [...lineParams, ...tokens.map(splitToken)].entries()) {
    if (!param.startsWith("vector.")) continue;
    const key = param.slice(7);
    const bare = given === null;
    const value = given ?? "1";
    // Named the way the user gave it: an error in `--set KEY=VALUE` said "kernel command line".
    const fromLine = i < lineParams.length;
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
