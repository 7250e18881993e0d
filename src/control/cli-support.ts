// Shared by the operator subcommands (status, services, restart, poweroff, ...): options, one request, output.
import { z } from "zod";
import { printable } from "../util/terminal-text.ts";
import { UsageError } from "../errors.ts";
import { checkOptions, readOptions } from "../util/cli-args.ts";
import { controlRequest, type RequestBody } from "./client.ts";

export const commonOptionsHelp = `  --json          print the server's JSON result instead of text
  --socket PATH   control socket (default $VECTOR_BOOT_CONTROL, else /run/vector-boot/control)
  --timeout MS    how long to wait for the answer (default 30000)
  -h, --help      this text`;

export interface CommonArgs {
  json: boolean;
  socket?: string;
  timeoutMs: number;
  positionals: string[];
}

/** The parseArgs spec of `--json --socket PATH --timeout MS`, for commands that add their own options to it. */
export const commonOptionSpec = { json: { type: "boolean" }, socket: { type: "string" }, timeout: { type: "string" } } as const;

const schema = z.object({
  json: z.boolean().default(false),
  socket: z.string().min(1, "must not be empty").optional(),
  timeout: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, "must be a whole number of milliseconds")
    .transform(Number)
    .default(30_000),
  positionals: z.array(z.string()),
});

/** Parses `--json --socket PATH --timeout MS` and the positionals: all of `positionals`, then at most `optional`. */
export function parseCommon(command: string, args: string[], positionals: string[], optional: string[] = []): CommonArgs {
  const parsed = readOptions(command, args, commonOptionSpec);
  const r = checkOptions(command, schema, { ...parsed.values, positionals: parsed.positionals });
  const n = r.positionals.length;
  if (n < positionals.length || n > positionals.length + optional.length) {
    const want = positionals.length + optional.length === 0 ? "no arguments" : [...positionals, ...optional.map((o) => `[${o}]`)].join(" ");
    throw new UsageError(`${command}: expects ${want}, got ${r.positionals.length === 0 ? "none" : JSON.stringify(r.positionals.join(" "))} (see vector-boot ${command} --help)`);
  }
  return { json: r.json, socket: r.socket, timeoutMs: r.timeout, positionals: r.positionals };
}

/** `--json --socket PATH --timeout MS` of a command that parses its own other options (mutate). */
export function commonOptions(command: string, values: { json?: boolean; socket?: string; timeout?: string }): Omit<CommonArgs, "positionals"> {
  const r = checkOptions(command, schema, { ...values, positionals: [] });
  return { json: r.json, socket: r.socket, timeoutMs: r.timeout };
}

/** Sends one request with the common options. */
export function ask(a: CommonArgs, body: RequestBody): Promise<unknown> {
  return controlRequest(body, { path: a.socket, timeoutMs: a.timeoutMs });
}

/** 3723400 -> "1h 2m 3.4s". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h ? `${h}h` : "", h || m ? `${m}m` : "", `${rest.toFixed(1)}s`].filter(Boolean).join(" ");
}

/** Items a list shows in describeObject's text (--json has all of them). */
const LIST_ITEMS = 8;

/** A number at four significant digits at most ("p50: 0.12926100000004226" read as noise); anything else as text. */
function scalarText(v: unknown): string {
  // Text from the instance (a model's general.name, a path) is printed with its control characters made "?".
  return typeof v === "number" && !Number.isInteger(v) ? String(+v.toPrecision(4)) : printable(String(v));
}

/** Nested object as indented "key: value" lines (keys ending in Ms printed as durations). */
export function describeObject(value: unknown, indent = ""): string {
  if (value === null || typeof value !== "object") return `${indent}${scalarText(value)}`;
  const lines: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      lines.push(`${indent}${printable(k)}:`);
      lines.push(describeObject(v, `${indent}  `));
    } else if (Array.isArray(v)) {
      // A long list (64 recent lateness values) is cut; --json has all of it.
      const shown = v.slice(0, LIST_ITEMS).map((x) => (typeof x === "object" ? JSON.stringify(x) : scalarText(x)));
      lines.push(`${indent}${printable(k)}: ${shown.map((x) => printable(x)).join(", ") || "-"}${v.length > LIST_ITEMS ? `, ... ${v.length - LIST_ITEMS} more` : ""}`);
    } else if (typeof v === "number" && /Ms$/.test(k)) {
      lines.push(`${indent}${printable(k.slice(0, -2))}: ${duration(v)}`);
    } else {
      lines.push(`${indent}${printable(k)}: ${v === null ? "-" : scalarText(v)}`);
    }
  }
  return lines.join("\n");
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
