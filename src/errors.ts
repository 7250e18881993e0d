// The one error hierarchy of vector-boot: every error carries a `cause` and maps to an exit code.

/**
 * Exit codes of the `vector-boot` executable (documented in the README; keep both in sync).
 * 1 and 2 are the seed's: 1 = neural runtime init failed, 2 = engine/model failed.
 */
export const ExitCode = {
  ok: 0,
  runtimeInit: 1,
  model: 2,
  usage: 64,
  data: 65,
  internal: 70,
  os: 71,
  io: 74,
  tempFail: 75,
  config: 78,
  notExecutable: 126,
  notFound: 127,
  signalBase: 128,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorOptions {
  cause?: unknown;
}

/** Base class: every error thrown on purpose by vector-boot is one of these. */
export class VectorBootError extends Error {
  /** Exit status of the CLI when this error ends a command. */
  readonly exitCode: number = ExitCode.internal;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** Bad command-line usage (unknown subcommand or flag, missing argument). */
export class UsageError extends VectorBootError {
  override readonly exitCode: number = ExitCode.usage;
}

/** A config file, kernel command line key or control request failed validation. `field` names it. */
export class ConfigError extends VectorBootError {
  override readonly exitCode: number = ExitCode.config;
  constructor(
    readonly field: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** A system call failed. `errno` is the symbolic name (e.g. "ENOENT"), `code` the number. */
export class SysError extends VectorBootError {
  override readonly exitCode: number = ExitCode.os;
  constructor(
    readonly syscall: string,
    readonly errno: string,
    readonly code: number,
    detail?: string,
    options?: ErrorOptions,
  ) {
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${errno} (${code})`, options);
  }
}

/** The neural runtime could not start (seed exit code 1). */
export class RuntimeInitError extends VectorBootError {
  override readonly exitCode: number = ExitCode.runtimeInit;
}

/** A model is unusable or an execution failed (seed exit code 2). */
export class ModelError extends VectorBootError {
  override readonly exitCode: number = ExitCode.model;
}

/** A GGUF file is malformed: names the field and the absolute byte offset where it was read. */
export class GgufError extends ModelError {
  constructor(
    readonly field: string,
    readonly offset: bigint | number,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`GGUF ${field} at byte ${offset}: ${problem}`, options);
  }
}

/** An RTS package or embedded-model trailer is malformed. */
export class PackageError extends VectorBootError {
  override readonly exitCode: number = ExitCode.data;
  constructor(
    readonly field: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** Bad input data given to an API (pixels, mutation records, ...). */
export class InputError extends VectorBootError {
  override readonly exitCode: number = ExitCode.data;
}

/** The cortex journal or a checkpoint could not be read or made durable. */
export class JournalError extends VectorBootError {
  override readonly exitCode: number = ExitCode.io;
}

/**
 * A journal segment records another base model's SHA-256 than the one it is read for (another
 * model's history copied in): never replayed, and never cut by `journal verify --repair`. The
 * operator moves `segment` (and that model's other segments) out of `journalDir`.
 */
export class ForeignSegmentError extends JournalError {
  constructor(
    readonly segment: string,
    readonly journalDir: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request that cannot be carried out in the state things are in now (a service stopping, the machine shutting down): try again later. */
export class NotNowError extends VectorBootError {
  override readonly exitCode: number = ExitCode.tempFail;
}

/** A command given to the tini-style mode could not be started. */
export class ExecError extends VectorBootError {
  constructor(
    message: string,
    override readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Exit code for any thrown value: ours carry one; anything else is an internal error. */
export function exitCodeOf(err: unknown): number {
  return err instanceof VectorBootError ? err.exitCode : ExitCode.internal;
}

/** One-line description of any thrown value, with its cause chain. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if (cur instanceof Error) {
      // A zod error's message is its issues as pretty-printed JSON: one line per issue instead
      // (recognised by shape, so this lowest layer need not load zod).
      const issues = (cur as { issues?: unknown }).issues;
      const zodLine = cur.name === "ZodError" && Array.isArray(issues)
        ? `invalid input: ${issues.map((i: { path?: unknown[]; message?: string }) => `${(i.path ?? []).join(".") || "(value)"}: ${i.message ?? "?"}`).join("; ")}`
        : null;
      const text = cur instanceof VectorBootError ? cur.message : (zodLine ?? `${cur.name}: ${cur.message}`);
      // A cause whose message the error already quotes is not said twice ("X <- caused by: TypeError: X").
      if (parts.length === 0 || !parts[parts.length - 1]!.includes(cur.message)) parts.push(text);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(" <- caused by: ");
}

/** The message of the innermost cause (e.g. "ENOSPC: no space left on device, write"): what an error came down to. */
export function rootCauseMessage(err: unknown): string {
  let cur: unknown = err;
  for (let depth = 0; depth < 8 && cur instanceof Error && (cur as { cause?: unknown }).cause !== undefined; depth++) cur = (cur as { cause?: unknown }).cause;
  return cur instanceof Error ? cur.message : String(cur);
}

/** etcd (the fleet) did not answer in time or refused a request; local PID-1 duties never wait on it. */
export class FleetError extends VectorBootError {
  override readonly exitCode: number = ExitCode.os;
}

/**
 * etcd refused a request for good: HTTP 4xx other than 429 (permission denied, a bad or too large
 * request, credentials refused). Sending the same request again cannot succeed: not retried.
 */
export class FleetRefusedError extends FleetError {
  constructor(
    message: string,
    readonly httpStatus: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Is HTTP `status` a refusal no retry of the same request mends (4xx, except 429 too many requests)? */
export const refusedForGood = (status: number): boolean => status >= 400 && status < 500 && status !== 429;
