// The machine's exit status: one JSON line (main service's exit, beats, errors) on the console and the virtio-serial port vector-boot.status.
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { reopenNonBlocking } from "../util/console-out.ts";
import { lazy } from "../util/lazy.ts";
import { intIn, z } from "../util/zod-mini.ts";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import type { MainExit } from "../supervisor/service-runner.ts";

const log = logger("shutdown");

/** Every status line starts with this (then one JSON object, then a newline). */
export const STATUS_PREFIX = "vector-boot-status ";
/** Name of the virtio-serial port (QEMU `-device virtserialport,name=...`) the line also goes to. */
export const STATUS_PORT = "vector-boot.status";
/** The shutdown reason when the main service's exit ended the machine. */
export const MAIN_EXITED = "main-exited";

export const machineStatusSchema = lazy(() =>
  z.strictObject({
    /** Why the machine ended: "main-exited", or the shutdown request's reason ("SIGTERM", "boot failed", ...). */
    reason: z.string(),
    /** The main service, when one is configured. */
    service: z.nullable(z.string()),
    /** The main service's exit code / killing signal number when it exited by itself, else null. */
    code: z.nullable(z.int()),
    signal: z.nullable(z.int()),
    /** The machine's exit status: the main service's (code, or 128 + signal) when it ended the machine, else the init's (0: orderly). */
    exit: intIn(0, 255),
    /** Number of the last heartbeat, and beats that failed. */
    beats: z.int().check(z.minimum(0)),
    errors: z.int().check(z.minimum(0)),
  }),
);
export type MachineStatus = z.infer<ReturnType<typeof machineStatusSchema>>;

/** The status: the main service's exit decides it when it ended the machine; else the init's own status. */
export function machineStatus(reason: string, initStatus: number, main: { name: string | null; exit: MainExit | null }, heartbeat: { beats: number; errors: number }): MachineStatus {
  const exit = main.exit;
  return {
    reason,
    service: main.name,
    code: exit && exit.signal === null ? exit.status : null,
    signal: exit?.signal ?? null,
    exit: exit ? exit.status & 0xff : initStatus & 0xff,
    beats: heartbeat.beats,
    errors: heartbeat.errors,
  };
}

export const statusLine = (s: MachineStatus): string => `${STATUS_PREFIX}${JSON.stringify(s)}`;

/** The last valid status line in `text` (a console log or the port's output), or null. */
export function parseStatusLine(text: string): MachineStatus | null {
  const lines = text.split("\n").reverse();
  for (const l of lines) {
    const at = l.indexOf(STATUS_PREFIX);
    if (at < 0) continue;
    try {
      const r = machineStatusSchema().safeParse(JSON.parse(l.slice(at + STATUS_PREFIX.length).trim()));
      if (r.success) return r.data;
    } catch {
      /* a torn or foreign line: look further back */
    }
  }
  return null;
}

/** The device node of the virtio-serial port named `name` (/sys/class/virtio-ports/vportNpM/name), or null. */
export function findVirtioPort(name = STATUS_PORT, sysDir = "/sys/class/virtio-ports"): string | null {
  if (!existsSync(sysDir)) return null;
  for (const port of readdirSync(sysDir).sort()) {
    try {
      if (readFileSync(`${sysDir}/${port}/name`, "utf8").trim() === name) return `/dev/${port}`;
    } catch {
      /* a port without a name */
    }
  }
  return null;
}

/**
 * Writes all of `text` to `fd`, retrying EAGAIN (a non-blocking console or a port whose host side is
 * not reading yet) until `deadline` (performance.now()); throws past it.
 */
async function writeAll(fd: number, text: string, deadline: number): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN" || performance.now() > deadline) throw e;
      await Bun.sleep(10);
    }
  }
}

/** Writes the status line to stdout (the console as PID 1) and, when the port exists, to vector-boot.status. Never throws. */
export async function emitStatus(s: MachineStatus, timeoutMs = 2_000): Promise<void> {
  const line = `${statusLine(s)}\n`;
  const deadline = performance.now() + timeoutMs;
  // Non-blocking: a console that does not drain (stopped by XOFF, a host not reading) held the
  // shutdown at this line forever, short of reboot(2).
  // A pipe, FIFO or terminal gets a descriptor of its own (fd 1's flags are the services'); a regular
  // file does not block, and a socket cannot be reopened: fd 1.
  const own = reopenNonBlocking(1);
  try {
    await writeAll(own ?? 1, line, deadline);
  } catch (e) {
    log.error("status line not written to the console", { error: describeError(e) });
  } finally {
    if (own !== null) closeSync(own);
  }
  const port = findVirtioPort();
  if (port === null) return;
  let fd: number | null = null;
  try {
    // Non-blocking: a port nobody reads on the host must not hold the power-off.
    fd = openSync(port, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    await writeAll(fd, line, deadline);
    log.info("status line written", { port });
  } catch (e) {
    log.error("status line not written to the virtio-serial port", { port, error: describeError(e) });
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
