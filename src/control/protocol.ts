// Control protocol v1: newline-delimited JSON requests (zod, discriminated on `op`) and responses.
import { z } from "zod";
import { lazy } from "../util/lazy.ts";

export const CONTROL_PROTOCOL_VERSION = 1;
export const DEFAULT_CONTROL_SOCKET = "/run/vector-boot/control";

/** Correlates a response with its request; echoed back verbatim (null when the request had none or was unreadable). */
const requestId = lazy(() => z.union([z.string().max(128), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]));

const serviceName = () => z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "not a service name");
const channel = () => z.number().int().min(0).max(255);

const op = <T extends string, S extends z.ZodRawShape>(name: T, shape: S) =>
  z.object({ id: requestId().optional(), op: z.literal(name), ...shape }).strict();

export const requestSchema = lazy(() =>
  z.discriminatedUnion("op", [
    op("ping", {}),
    op("status", {}),
    op("services", {}),
    op("start", { name: serviceName() }),
    op("stop", { name: serviceName() }),
    op("restart", { name: serviceName() }),
    /** A service's recent output lines: those after sequence `after`, the last `limit` of them. */
    op("logs", { name: serviceName(), after: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(100_000).optional() }),
    op("stats", {}),
    op("pixels", { pixels: z.array(z.tuple([channel(), channel(), channel()])).min(1).max(4096) }),
    op("mutate", {
      tensor: z.string().min(1).max(256),
      offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      values: z.array(z.number()).min(1).max(4096),
      confidence: z.number().min(0).max(1),
    }),
    op("checkpoint", {}),
    op("poweroff", {}),
    op("reboot", {}),
    op("reexec", { path: z.string().min(1).max(4096).startsWith("/", "must be an absolute path").optional() }),
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
    z.object({ id: requestId().nullable(), ok: z.literal(true), result: z.unknown() }),
    z.object({ id: requestId().nullable(), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
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
