// One line per event with a monotonic timestamp, to stderr and (as PID 1) /dev/kmsg.
import { nodeFs } from "./util/node-fs.ts";
import { consoleWrite } from "./util/console-out.ts";

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, string | number | bigint | boolean | null | undefined>;

const levelRank: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/** kmsg priorities (syslog): err=3, warning=4, info=6, debug=7. */
const kmsgPriority: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

interface LogState {
  minLevel: Level;
  kmsgFd: number | null;
  stderr: boolean;
  sink: ((line: string) => void) | null;
}

const state: LogState = { minLevel: "info", kmsgFd: null, stderr: true, sink: null };

/**
 * Offset that turns Bun's hrtime (monotonic, arbitrary origin) into seconds since boot, so log
 * lines line up with the kernel's (and stay monotonic across a re-exec). Read once, at the first
 * timestamp (a quiet `vector-boot -- CMD` never reads it).
 */
let bootOffset: number | null = null;

function readBootOffset(): number {
  try {
    const up = Number(nodeFs().readFileSync("/proc/uptime", "latin1").split(" ")[0]);
    if (Number.isFinite(up)) return up - Number(process.hrtime.bigint()) / 1e9;
  } catch {
    /* no /proc yet: timestamps start at the process's origin */
  }
  return 0;
}

/** Monotonic seconds, aligned with the time since boot when /proc/uptime was readable. */
export function monotonicSeconds(): number {
  bootOffset ??= readBootOffset();
  return Number(process.hrtime.bigint()) / 1e9 + bootOffset;
}

function formatValue(v: Fields[string]): string {
  const s = String(v);
  return /[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s;
}

/** Formats one log line (without trailing newline). */
function formatLine(level: Level, component: string, msg: string, fields?: Fields): string {
  const ts = monotonicSeconds().toFixed(6).padStart(13, " ");
  let line = `[${ts}] ${level === "info" ? "" : `${level.toUpperCase()} `}${component}: ${msg}`;
  if (fields) {
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
  }
  return line;
}

/** Logs one event. Never throws: logging must not take PID 1 down. */
export function log(level: Level, component: string, msg: string, fields?: Fields): void {
  if (levelRank[level] < levelRank[state.minLevel]) return;
  const line = formatLine(level, component, msg, fields);
  try {
    if (state.stderr) consoleWrite(2, `${line}\n`);
  } catch {
    /* console gone: nothing to do */
  }
  if (state.kmsgFd !== null) {
    try {
      nodeFs().writeSync(state.kmsgFd, `<${kmsgPriority[level]}>vector-boot: ${line.slice(0, 900)}\n`);
    } catch {
      /* kmsg rate-limited or gone */
    }
  }
  state.sink?.(line);
}

export const logger = (component: string) => ({
  debug: (msg: string, f?: Fields) => log("debug", component, msg, f),
  info: (msg: string, f?: Fields) => log("info", component, msg, f),
  warn: (msg: string, f?: Fields) => log("warn", component, msg, f),
  error: (msg: string, f?: Fields) => log("error", component, msg, f),
});
export type Logger = ReturnType<typeof logger>;

export function setLogLevel(level: Level): void {
  state.minLevel = level;
}

/** Also sends every line to /dev/kmsg (PID 1). Returns false when kmsg cannot be opened. */
export function enableKmsg(path = "/dev/kmsg"): boolean {
  try {
    state.kmsgFd = nodeFs().openSync(path, "w");
    return true;
  } catch {
    return false;
  }
}

export function disableKmsg(): void {
  if (state.kmsgFd !== null) {
    try {
      nodeFs().closeSync(state.kmsgFd);
    } catch {
      /* ignore */
    }
    state.kmsgFd = null;
  }
}

/** Whether lines go to stderr (on by default); a library caller may route them to a sink alone. */
export function setLogStderr(on: boolean): void {
  state.stderr = on;
}

/** Extra destination for every line (tests, the control socket's log tail). */
export function setLogSink(sink: ((line: string) => void) | null): void {
  state.sink = sink;
}
