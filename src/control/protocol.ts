// Control protocol v1: newline-delimited JSON requests (zod, discriminated on `op`) and responses.
import { MAX_VALUES } from "../evolution/layout.ts";
import { lazy } from "../util/lazy.ts";
import { intIn, z } from "../util/zod-mini.ts";

export const CONTROL_PROTOCOL_VERSION = 1;
export const DEFAULT_CONTROL_SOCKET = "/run/vector-boot/control";

/** Correlates a response with its request; echoed back verbatim (null when the request had none or was unreadable). */
const requestId = lazy(() => z.union([z.string().check(z.maxLength(128)), intIn(0, Number.MAX_SAFE_INTEGER)]));

const serviceName = () => z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "not a service name"));
const channel = () => intIn(0, 255);

const op = <T extends string, S extends z.core.$ZodLooseShape>(name: T, shape: S) => z.strictObject({ id: z.optional(requestId()), op: z.literal(name), ...shape });

/**
 * Requests that change what a live re-exec hands over (services' states, the weights, the journal):
 * held unread by the server while a handover is under way (ControlServer.holdChanges), so none is
 * carried out after the parts were written, and answered by the image that carries on.
 */
export const HANDED_OVER_OPS: ReadonlySet<string> = new Set(["start", "stop", "restart", "mutate", "checkpoint"]);

/** The `op` of a request line, without validating the rest (null when it has none). */
export function opOf(line: string): string | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === "object" && v !== null && "op" in v && typeof v.op === "string" ? v.op : null;
  } catch {
    return null;
  }
}

export const requestSchema = lazy(() =>
  z.discriminatedUnion("op", [
    op("ping", {}),
    op("status", {}),
    op("services", {}),
    op("start", { name: serviceName() }),
    op("stop", { name: serviceName() }),
    op("restart", { name: serviceName() }),
    /** A service's recent output lines: those after sequence `after`, the last `limit` of them. */
    op("logs", { name: serviceName(), after: z.optional(z.int().check(z.minimum(0))), limit: z.optional(intIn(1, 100_000)) }),
    op("stats", {}),
    op("pixels", { pixels: z.array(z.tuple([channel(), channel(), channel()])).check(z.minLength(1), z.maxLength(4096)) }),
    op("mutate", {
      tensor: z.string().check(z.minLength(1), z.maxLength(256)),
      offset: intIn(0, Number.MAX_SAFE_INTEGER),
      values: z.array(z.number()).check(z.minLength(1), z.maxLength(MAX_VALUES)),
      confidence: z.number().check(z.minimum(0), z.maximum(1)),
    }),
    op("checkpoint", {}),
    op("poweroff", {}),
    op("reboot", {}),
    op("reexec", { path: z.optional(z.string().check(z.minLength(1), z.maxLength(4096), z.startsWith("/", "must be an absolute path"))) }),
  ]),
);

export type ControlRequest = z.infer<ReturnType<typeof requestSchema>>;
export type ControlOp = ControlRequest["op"];

/** Machine-readable error codes (see docs/control-protocol.md). */
export const errorCodes = [
  "parse_error",
  "invalid_request",
  "line_too_long",
  "timeout",
  "busy",
  "permission_denied",
  "unknown_service",
  "not_supported",
  "refused",
  "failed",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ControlError {
  code: ErrorCode;
  message: string;
}

export type ControlResponse =
  | { id: string | number | null; ok: true; result: unknown }
  | { id: string | number | null; ok: false; error: ControlError };

/** What a client accepts from the server (an unknown error code is kept as a string). */
export const responseSchema = lazy(() =>
  z.discriminatedUnion("ok", [
    z.object({ id: z.nullable(requestId()), ok: z.literal(true), result: z.unknown() }),
    z.object({ id: z.nullable(requestId()), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
  ]),
);

/** Typed arrays become arrays, bigints numbers (strings beyond 2^53): results may come straight from the runtime. */
function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => jsonSafe("", x));
  return v;
}

/** One response line (JSON without newlines, then "\n"). A result that cannot be encoded (a cycle) becomes a `failed` error. */
export function encodeResponse(r: ControlResponse): string {
  try {
    return `${JSON.stringify(r, jsonSafe)}\n`;
  } catch (e) {
    return `${JSON.stringify(errorResponse(r.id, "failed", `result not serialisable: ${(e as Error).message}`))}\n`;
  }
}

/**
 * The line every open connection gets when the server closes for an orderly shutdown (a live
 * re-exec drops connections unannounced: the exec closes them), as `busy` with id null: a client
 * that follows (`logs -f`) ends there instead of waiting for an image that will not come.
 */
export const CLOSING_FOR_SHUTDOWN = "the instance is shutting down: its control socket is closing";

export function errorResponse(id: string | number | null, code: ErrorCode, message: string): ControlResponse {
  return { id, ok: false, error: { code, message } };
}

/** Best-effort id of a request that failed validation (so the client can still correlate the error). */
export function salvageId(raw: unknown): string | number | null {
  if (raw && typeof raw === "object" && "id" in raw) {
    const r = requestId().safeParse((raw as { id: unknown }).id);
    if (r.success) return r.data;
  }
  return null;
}
