// Starts the control server for the boot sequence: a failure is logged, never thrown (PID 1 carries on without it).
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { ControlServer, type ControlServerOptions } from "./server.ts";

const log = logger("control");

/** The server, or null when it could not start (the reason is logged; the boot goes on). */
export function startControlServer(opts: ControlServerOptions): ControlServer | null {
  try {
    return new ControlServer(opts);
  } catch (e) {
    log.error("control socket not available", { path: opts.path, error: describeError(e) });
    return null;
  }
}

export { ControlServer };
export { bootTarget, type BootTargetParts } from "./boot-target.ts";
export type { ControlTarget } from "./target.ts";
