// Loads the config file and the kernel command line, validates both with zod, merges them.
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { parseCmdline, type CmdlineOverrides } from "./cmdline.ts";
import { configSchema, type Config } from "./schema.ts";

function fieldPath(path: PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(top level)" : s;
}

/** Validates a parsed config object; throws ConfigError naming the first bad field (all listed in the message). */
export function validateConfig(raw: unknown, source = "config"): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const keys = i.code === "unrecognized_keys" ? ` ${(i as { keys: string[] }).keys.map((k) => JSON.stringify(k)).join(", ")}` : "";
      return { field: fieldPath(i.path), problem: `${i.message}${keys}` };
    });
    const first = problems[0]!;
    const rest = problems.slice(1).map((p) => `; ${p.field}: ${p.problem}`).join("");
    throw new ConfigError(`${source}: ${first.field}`, `${first.problem}${rest}`);
  }
  checkServiceGraph(r.data, source);
  return r.data;
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

/** Reads and parses a JSON config file; every failure is a ConfigError naming the file. */
export function readConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(path, `cannot read config file: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return validateConfig(raw, path);
}

export interface LoadedConfig {
  config: Config;
  /** Problems that were reported and replaced by defaults (only when `lenient`). */
  warnings: ConfigError[];
}

/**
 * Config = defaults <- file <- kernel command line. Strict (outside PID 1): the first problem
 * throws. Lenient (PID 1): a bad cmdline key is skipped, a bad file falls back to the defaults;
 * each problem is returned as a warning to log. PID 1 must come up rather than panic.
 */
export function loadConfig(opts: { file?: string; cmdline?: string; lenient: boolean }): LoadedConfig {
  const warnings: ConfigError[] = [];
  const cmd = opts.cmdline !== undefined ? parseCmdline(opts.cmdline) : { overrides: {} as CmdlineOverrides, errors: [] };
  if (cmd.errors.length > 0) {
    if (!opts.lenient) throw cmd.errors[0]!;
    warnings.push(...cmd.errors);
  }
  const file = opts.file ?? cmd.overrides.config;
  let base: Config;
  if (file !== undefined) {
    try {
      base = readConfigFile(file);
    } catch (e) {
      if (!opts.lenient || !(e instanceof ConfigError)) throw e;
      warnings.push(e);
      base = validateConfig({});
    }
  } else {
    base = validateConfig({});
  }
  const { config: _ignored, evolution, ...rest } = cmd.overrides;
  void _ignored;
  const merged: Config = { ...base, ...rest, evolution: evolution === undefined ? base.evolution : { ...base.evolution, enabled: evolution } };
  return { config: merged, warnings };
}
