// Loads the config file and the kernel command line, validates both with zod, merges them.
import { issuesText } from "../util/issues-text.ts";
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { duplicateKey } from "./json-duplicates.ts";
import { nulString } from "./nul-strings.ts";
import { readRegularFile } from "../util/regular-file.ts";
import { firstNonUtf8 } from "../util/utf8.ts";
import { parseCmdline, type CmdlineOverrides } from "./cmdline.ts";
import { configSchema, defaultConfig, fleetSchema, type Config } from "./schema.ts";
import { targetedActions, targetWords } from "./heartbeat-schema.ts";
import { fieldPath, validateLeniently } from "./lenient-config.ts";

/**
 * Validates a parsed config object; throws ConfigError naming the first bad field (all listed in the
 * message). Service ids are resolved too (`resolveServiceIds`): strictly, unless `idWarnings` is
 * given (PID 1), which collects the services that cannot run instead.
 */
export function validateConfig(raw: unknown, source = "config", idWarnings?: ConfigError[]): Config {
  const nul = nulString(raw);
  if (nul !== null) throw new ConfigError(`${source}: ${nul}`, "contains a NUL character (\\u0000): the program it is handed to would see the string end there (a variable dropped, a path cut short)");
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    // zod's English messages name the keys of an unrecognized_keys issue themselves.
    const problems = r.error.issues.map((i) => ({ field: fieldPath(i.path), problem: i.message }));
    const first = problems[0]!;
    const rest = problems.slice(1).map((p) => `; ${p.field}: ${p.problem}`).join("");
    throw new ConfigError(`${source}: ${first.field}`, `${first.problem}${rest}`);
  }
  checkServiceGraph(r.data, source);
  checkInterruptTargets(r.data, source, idWarnings ?? null);
  return resolveServiceIds(r.data, source, idWarnings ?? null);
}

/**
 * An interrupt handler's `target` names a configured service (or cause, top_cpu, top_rss): a typo
 * was found only when the interrupt fired ("no running service matches"), under load. PID 1 is told
 * and keeps the handler (the running log says it again when it fires).
 */
function checkInterruptTargets(cfg: Config, source: string, warnings: ConfigError[] | null): void {
  const names = new Set(cfg.services.map((s) => s.name));
  for (const [interrupt, h] of Object.entries(cfg.heartbeat.interrupts)) {
    if (!targetedActions.includes(h.action) || (targetWords as readonly string[]).includes(h.target) || names.has(h.target)) continue;
    const err = new ConfigError(`${source}: heartbeat.interrupts.${interrupt}.target`, `no service named ${JSON.stringify(h.target)} (a service name, or ${targetWords.join(", ")})`);
    if (warnings === null) throw err;
    warnings.push(err);
  }
}

export const PASSWD_PATH = "/etc/passwd";

/**
 * uid -> primary gid from a passwd file (name:password:uid:gid:gecos:home:shell; the first entry of a
 * uid wins, as with getpwuid; comments, NIS "+" lines and malformed lines are skipped). An Error
 * when the file cannot be read (an initramfs often has none).
 */
export function readPasswd(path = PASSWD_PATH): Map<number, number> | Error {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return e as Error;
  }
  const gids = new Map<number, number>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || !/^\d{1,10}$/.test(f[2]!) || !/^\d{1,10}$/.test(f[3]!)) continue;
    const uid = Number(f[2]);
    if (!gids.has(uid)) gids.set(uid, Number(f[3]));
  }
  return gids;
}

/**
 * A service with `uid` and no `gid` gets that user's primary group from /etc/passwd (as the init sees
 * it), and no supplementary groups unless `groups` lists them; it never falls back to the init's own
 * gid 0 (uid 0 is root, whose group is 0). A uid /etc/passwd does not know, or whose primary group
 * there is 0, needs an explicit `gid`: strict (`warnings` null), the config is refused naming
 * `services[i].gid`; lenient (PID 1), that service is not started, nor anything that depends on
 * it, and each is reported in `warnings`. Returns the config with the ids filled in.
 */
export function resolveServiceIds(cfg: Config, source: string, warnings: ConfigError[] | null, passwdPath = PASSWD_PATH): Config {
  let passwd: Map<number, number> | Error | undefined;
  const dropped = new Set<string>();
  const services = cfg.services.map((s, i) => {
    if (s.uid === undefined) return s;
    let gid = s.gid;
    if (gid === undefined && s.uid === 0) gid = 0;
    if (gid === undefined) {
      passwd ??= readPasswd(passwdPath);
      const found = passwd instanceof Error ? undefined : passwd.get(s.uid);
      const why =
        passwd instanceof Error
          ? `uid ${s.uid} has no entry in ${passwdPath} (it cannot be read: ${(passwd as NodeJS.ErrnoException).code ?? passwd.message})`
          : found === undefined
            ? `uid ${s.uid} has no entry in ${passwdPath}`
            : found === 0
              ? `uid ${s.uid}'s primary group in ${passwdPath} is 0 (root)`
              : null;
      if (why !== null) {
        const field = `${source}: services[${i}].gid`;
        if (warnings === null) throw new ConfigError(field, `required: ${why}, so the service's group is unknown (a service never runs as gid 0 by default)`);
        warnings.push(new ConfigError(field, `service ${s.name} is not started: ${why}, so its group is unknown (set gid; a service never runs as gid 0 by default)`));
        dropped.add(s.name);
        return s;
      }
      gid = found;
    }
    return { ...s, gid, groups: s.groups ?? [] };
  });
  if (dropped.size === 0) return { ...cfg, services };
  // What depends on a service that is not started would wait for it for ever: not started either.
  for (let more = true; more; ) {
    more = false;
    cfg.services.forEach((s, i) => {
      if (dropped.has(s.name)) return;
      const j = s.depends_on.findIndex((d) => dropped.has(d));
      if (j < 0) return;
      warnings!.push(new ConfigError(`${source}: services[${i}].depends_on[${j}]`, `service ${s.name} is not started: it depends on ${s.depends_on[j]}, which is not started`));
      dropped.add(s.name);
      more = true;
    });
  }
  return { ...cfg, services: services.filter((s) => !dropped.has(s.name)) };
}

/** Names unique, dependencies known and acyclic. */
function checkServiceGraph(cfg: Config, source: string): void {
  const names = new Map<string, number>();
  cfg.services.forEach((s, i) => {
    if (names.has(s.name)) throw new ConfigError(`${source}: services[${i}].name`, `duplicate service name ${JSON.stringify(s.name)}`);
    names.set(s.name, i);
  });
  cfg.services.forEach((s, i) => {
    s.depends_on.forEach((d, j) => {
      if (!names.has(d)) throw new ConfigError(`${source}: services[${i}].depends_on[${j}]`, `unknown service ${JSON.stringify(d)}`);
      if (d === s.name) throw new ConfigError(`${source}: services[${i}].depends_on[${j}]`, "a service cannot depend on itself");
    });
  });
  startOrder(cfg, source);
}

/** Topological start order (stable: config order among independent services). Throws on a cycle. */
export function startOrder(cfg: Config, source = "config"): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const byName = new Map(cfg.services.map((s) => [s.name, s]));
  const visit = (name: string, chain: string[]): void => {
    const st = state.get(name);
    if (st === "done") return;
    if (st === "visiting") throw new ConfigError(`${source}: services`, `dependency cycle: ${[...chain, name].join(" -> ")}`);
    state.set(name, "visiting");
    for (const d of byName.get(name)?.depends_on ?? []) visit(d, [...chain, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const s of cfg.services) visit(s.name, []);
  return order;
}

/**
 * Reads and parses a JSON config file; every failure is a ConfigError naming the file. With
 * `idWarnings` (PID 1) a service whose ids cannot be resolved is left out and reported there.
 */
export function readConfigFile(path: string, idWarnings?: ConfigError[]): Config {
  return validateConfig(readConfigJson(path), path, idWarnings);
}

/** The JSON value of config file `path`, not validated; ConfigError naming the file when it cannot be read or is not JSON. */
function readConfigJson(path: string): unknown {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path);
  } catch (e) {
    throw new ConfigError(path, `cannot read config file: ${(e as Error).message}`, { cause: e });
  }
  // Decoded as it was, a byte that is not UTF-8 (a Latin-1 "é") became U+FFFD: a service got another argument than the one written.
  const bad = firstNonUtf8(bytes);
  if (bad >= 0) throw new ConfigError(path, `not UTF-8: byte 0x${bytes[bad]!.toString(16)} at offset ${bad} (JSON is UTF-8; save the file as UTF-8)`);
  let text = bytes.toString("utf8");
  // A UTF-8 byte order mark (some editors write one) is not JSON but says nothing: dropped.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const twice = duplicateKey(text);
  if (twice !== null) throw new ConfigError(`${path}: ${twice}`, "given twice in one object (JSON keeps only the last: the first was silently lost); remove one");
  return raw;
}

/** PID 1's config file: each bad value reported and dropped for its default, the rest kept; the defaults only when the file cannot be read or mended. */
function readConfigFileLeniently(path: string, warnings: ConfigError[]): Config {
  let raw: unknown;
  try {
    raw = readConfigJson(path);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    warnings.push(e, new ConfigError(path, "the whole file is ignored: the defaults are used"));
    return defaultConfig();
  }
  const cfg = validateLeniently(raw, path, warnings, (r) => validateConfig(r, path, warnings));
  if (cfg !== null) return cfg;
  // Said as such: the last warning alone read as one field falling back.
  warnings.push(new ConfigError(path, "the whole file is ignored (a problem no single value's default can mend): the defaults are used"));
  return defaultConfig();
}

export interface LoadedConfig {
  config: Config;
  /** The file read (`file`, else the command line's or --set's `vector.config`); null: none, the defaults. */
  file: string | null;
  /** Problems that were reported and replaced by defaults (only when `lenient`). */
  warnings: ConfigError[];
}

/**
 * Config = defaults <- file <- kernel command line. Strict (outside PID 1): the first problem
 * throws. Lenient (PID 1): a bad cmdline key is skipped, a bad value in the file falls back to its
 * default (a service or mount that cannot stand is left out; an unreadable file is the defaults), a
 * service whose group cannot be resolved is not started; each problem is returned as a warning to
 * log. PID 1 must come up rather than panic.
 */
export function loadConfig(opts: { file?: string | undefined; cmdline?: string | undefined; tokens?: readonly string[]; lenient: boolean; idWarnings?: boolean; lenientCmdline?: boolean }): LoadedConfig {
  const warnings: ConfigError[] = [];
  // `lenientCmdline` (boot --check --as-pid1): the command line's and --set's problems are warnings, as PID 1 reads them.
  const cmdLenient = opts.lenient || opts.lenientCmdline === true;
  // `tokens`: `vector.KEY=VALUE` entries already split (`--set`), after the command line's.
  const cmd = opts.cmdline !== undefined || opts.tokens?.length ? parseCmdline(opts.cmdline ?? "", opts.tokens) : { overrides: {} as CmdlineOverrides, errors: [] };
  if (cmd.errors.length > 0) {
    if (!cmdLenient) throw cmd.errors[0]!;
    warnings.push(...cmd.errors);
  }
  const file = opts.file ?? cmd.overrides.config;
  let base: Config;
  if (file !== undefined) {
    // `idWarnings` (boot --check): strict otherwise, but a service whose ids cannot be resolved here is a warning.
    base = opts.lenient ? readConfigFileLeniently(file, warnings) : readConfigFile(file, opts.idWarnings === true ? warnings : undefined);
  } else {
    // No file: nothing external to validate, and no schema to build (the command line's keys have their own).
    base = defaultConfig();
  }
  const { config: _ignored, evolution, ...all } = cmd.overrides;
  void _ignored;
  const { rest, fleet } = splitFleet(all);
  const merged: Config = { ...base, ...rest, evolution: evolution === undefined ? base.evolution : { ...base.evolution, enabled: evolution } };
  if (Object.keys(fleet).length > 0) {
    const r = fleetSchema.safeParse({ ...base.fleet, ...fleet });
    if (r.success) merged.fleet = r.data;
    else {
      const err = new ConfigError("kernel command line vector.fleet.*", issuesText(r.error.issues));
      if (!cmdLenient) throw err;
      warnings.push(err);
    }
  }
  // Checked after the merge: vector.fleet.* keys may supply the section.
  const placed = merged.services.findIndex((s) => s.fleet !== undefined);
  if (placed >= 0 && !merged.fleet) {
    const err = new ConfigError(`services[${placed}].fleet`, "needs a fleet section (fleet.endpoints): the service never starts without one");
    if (!opts.lenient) throw err;
    warnings.push(err);
  }
  return { config: merged, warnings, file: file ?? null };
}

/** `fleet.KEY` overrides apart from the others (they merge into the `fleet` section). */
function splitFleet(o: Record<string, unknown>): { rest: Record<string, unknown>; fleet: Record<string, unknown> } {
  const rest: Record<string, unknown> = {};
  const fleet: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith("fleet.")) fleet[k.slice(6)] = v;
    else rest[k] = v;
  }
  return { rest, fleet };
}
