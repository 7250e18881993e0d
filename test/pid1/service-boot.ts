// Boots the shipped executable with a list of services and reads their rows back over the control socket (the readiness, health and hook tests' set-up).
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { start, writeJson } from "./harness.ts";

/** A row of `services --json`. */
export type ServiceRow = { name: string; state: string; ready: boolean; statusText: string | null; restarts: number; health: { checks: number; failures: number } | null };

/** The rows of `services --json` from the control socket at `socket`; [] while it does not answer. */
export async function listServices(socket: string): Promise<ServiceRow[]> {
  const r = await runShippedAsync(["services", "--json", "--socket", socket]);
  return r.code === 0 ? (JSON.parse(r.out) as ServiceRow[]) : [];
}

/** Boots with `services` (run and state directories in `dir`, `extra` config keys; `pid1`: as PID 1 of a new PID namespace); `list` reads the services back. */
export function bootServices(dir: string, services: unknown[], extra: Record<string, unknown> = {}, opts: { pid1?: boolean } = {}) {
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), services, ...extra });
  const run = start(["boot", ...bootArgs(), "--config", cfg], opts.pid1 ? { pid1: true, configStateDir: true } : {});
  return { run, list: () => listServices(join(dir, "run", "control")) };
}
