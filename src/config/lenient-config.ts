// PID 1's reading of a config file with bad values: each bad value falls back to its default (a bad service or mount is left out), the rest of the file is kept.
import { ConfigError } from "../errors.ts";
import { configSchema, type Config } from "./schema.ts";

type Path = (string | number)[];

/** `services[2].argv`, as validateConfig names fields. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(top level)" : s;
}

/**
 * A mount that cannot stand, kept as one that fails to mount on the same target: left out, the
 * state disk under it was not missed (missingStateDisk knows only configured mounts) and the journal
 * went to the RAM disk. Null when its target is unusable too.
 */
function unmountable(item: unknown): Record<string, unknown> | null {
  const target = item !== null && typeof item === "object" ? (item as Record<string, unknown>).target : undefined;
  return typeof target === "string" && target.startsWith("/") ? { source: "none", target, fstype: "vb-invalid-config" } : null;
}

/**
 * Removes what `path` names from `root`: an object's key (its default applies) or an array's item
 * (an item of `mounts` is made unmountable instead). Nothing there (a required field missing): the
 * object or item holding it goes instead. Returns the path removed, or null when nothing can be.
 */
function drop(root: unknown, path: Path): Path | null {
  for (let p = path; p.length > 0; p = p.slice(0, -1)) {
    let parent: unknown = root;
    for (const k of p.slice(0, -1)) parent = parent !== null && typeof parent === "object" ? (parent as Record<string | number, unknown>)[k] : undefined;
    const leaf = p.at(-1)!;
    if (Array.isArray(parent) && typeof leaf === "number" && leaf < parent.length) {
      const stub = p.length === 2 && p[0] === "mounts" ? unmountable(parent[leaf]) : null;
      if (stub !== null && JSON.stringify(stub) !== JSON.stringify(parent[leaf])) parent[leaf] = stub;
      else parent.splice(leaf, 1);
      return p;
    }
    if (parent !== null && typeof parent === "object" && !Array.isArray(parent) && Object.hasOwn(parent, leaf)) {
      delete (parent as Record<string | number, unknown>)[leaf];
      return p;
    }
  }
  return null;
}

/**
 * What goes for a problem at `path`: a service or mount whole, the fleet section whole, else the
 * value alone. A value of a service falling back to its default ran it as root (a mistyped `uid`, an
 * unknown `user` key: the init's own user), and a mount's bad `flags` mounted it without nosuid,
 * nodev or noexec; the fleet's TLS or auth settings fell back to none.
 */
function whole(path: Path): Path {
  if ((path[0] === "services" || path[0] === "mounts") && path.length > 2) return path.slice(0, 2);
  if (path[0] === "fleet" && path.length > 1) return ["fleet"];
  return path;
}

/** The path a validateConfig error names when it is one service (`source: services[3]...`): the graph and id checks. */
function servicePath(e: ConfigError, source: string): Path | null {
  const m = /^services\[(\d+)\]/.exec(e.field.startsWith(`${source}: `) ? e.field.slice(source.length + 2) : "");
  return m ? ["services", Number(m[1])] : null;
}

/**
 * `raw` (a parsed config file, changed in place) validated with `validate` (validateConfig), each
 * problem removed in turn and reported in `warnings`: a bad value falls back to its default, a
 * service or mount that cannot stand is left out. It threw the whole file away for one bad value
 * (services, mounts, state_dir lost: the journal went to the RAM disk) while saying that field fell
 * back. Null when the file cannot be mended this way (its top level, a dependency cycle).
 */
export function validateLeniently(raw: unknown, source: string, warnings: ConfigError[], validate: (raw: unknown) => Config): Config | null {
  for (let round = 0; round < 256; round++) {
    const r = configSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const at: Path = issue.path.map((k) => (typeof k === "symbol" ? String(k) : k));
      const target = issue.code === "unrecognized_keys" ? [...at, issue.keys[0]!] : at;
      const removed = drop(raw, whole(target));
      if (removed === null) return null;
      const mount = removed.length === 2 && removed[0] === "mounts" && Array.isArray((raw as { mounts?: unknown }).mounts) && ((raw as { mounts: unknown[] }).mounts[removed[1] as number] as { fstype?: unknown } | undefined)?.fstype === "vb-invalid-config";
      const what = removed.length >= target.length ? "" : mount ? ` (${fieldPath(removed)} is not mounted: what lies under its target, the state disk, counts as missing)` : ` (${fieldPath(removed)} left out)`;
      warnings.push(new ConfigError(`${source}: ${fieldPath(target)}`, `${issue.message}${what}`));
      continue;
    }
    try {
      return validate(raw);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const svc = servicePath(e, source);
      if (svc === null || drop(raw, svc) === null) return null;
      warnings.push(new ConfigError(e.field, `${e.problem} (${fieldPath(svc)} left out)`));
    }
  }
  return null;
}
