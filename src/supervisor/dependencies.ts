// Dependency rules between services (depends_on): who blocks a start, who waits for a service that went down for good.
import type { ServiceRecord, ServiceState } from "./service-record.ts";

/** The records by name (the supervisor's services). */
export type Lookup = (name: string) => ServiceRecord | undefined;

/** A state its dependents may start on: running (its ready check passed, or it has none), or a oneshot done. */
export const satisfiesDependents = (s: ServiceState | undefined): boolean => s === "running" || s === "done";

/** A service's dependencies that are not running yet (a ready check passed, or none), nor done (a oneshot that exited 0). */
export const notRunning = (rec: ServiceRecord, get: Lookup): string[] => rec.config.depends_on.filter((d) => !satisfiesDependents(get(d)?.state));

/** Services waiting (pending, not stopped by hand) on `dep` directly, in `order`. */
export const waitingOn = (dep: string, order: readonly string[], get: Lookup): string[] =>
  order.filter((n) => {
    const o = get(n)!;
    return o.state === "pending" && !o.stopRequested && o.config.depends_on.includes(dep);
  });

/** Whether the pending main service `name` waits for `dep`, directly or through a pending dependency of its own. */
export function mainNeeds(name: string, dep: string, get: Lookup): boolean {
  const rec = get(name);
  if (!rec?.config.main || rec.state !== "pending") return false;
  const seen = new Set<string>();
  const walk = (n: string): boolean => {
    if (seen.has(n)) return false;
    seen.add(n);
    const deps = get(n)?.config.depends_on ?? [];
    return deps.includes(dep) || deps.some((d) => get(d)?.state === "pending" && walk(d));
  };
  return walk(name);
}
