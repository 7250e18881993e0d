// Control socket client (node:net; the client side needs no SO_PEERCRED): one request, one validated response.
import net from "node:net";
import { ExitCode, SysError, VectorBootError } from "../errors.ts";
import { socketPathDetail, unixAddress } from "../util/unix-path.ts";
import { backlogFull, explainRefused } from "./connect-refused.ts";
import { CLOSING_FOR_SHUTDOWN, DEFAULT_CONTROL_SOCKET, responseSchema, type ControlRequest } from "./protocol.ts";

/** Socket path: the given one, else $VECTOR_BOOT_CONTROL, else /run/vector-boot/control. */
export function controlSocketPath(given?: string): string {
  return given ?? (process.env.VECTOR_BOOT_CONTROL || DEFAULT_CONTROL_SOCKET);
}

/** Requests that change nothing: a timeout leaves nothing in doubt. */
const readOnlyOps = new Set(["ping", "status", "services", "logs", "stats", "pixels"]);

/** The server answered `ok: false`. `code` is the protocol's error code. */
export class ControlRequestError extends VectorBootError {
  override readonly exitCode: number;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`control: ${code}: ${message}`);
    this.exitCode =
      // line_too_long: the request the caller's own arguments made (a name of 70,000 bytes) was "internal" (70).
      code === "unknown_service" || code === "invalid_request" || code === "not_supported" || code === "line_too_long" ? ExitCode.usage
      : code === "permission_denied" ? ExitCode.os
      // timeout: the server closed the connection for time (a line unfinished, or idle): try again (it was 70, "a bug").
      : code === "busy" || code === "timeout" ? ExitCode.tempFail
      : code === "refused" ? ExitCode.data
      : ExitCode.internal;
  }
}

const errnoNumbers: Record<string, number> = { ENOENT: 2, EACCES: 13, EPIPE: 32, ECONNRESET: 104, ECONNREFUSED: 111, ETIMEDOUT: 110 };

/** A request without its id (the client numbers them). */
export type RequestBody = ControlRequest extends infer R ? (R extends { id?: unknown } ? Omit<R, "id"> : never) : never;

/** One connection; requests are answered in order. */
export class ControlClient {
  private buf = "";
  private nextId = 1;
  private waiting = new Map<number, { op: string; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(
    private readonly sock: net.Socket,
    readonly path: string,
  ) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.onData(d));
    // After the connect, a lost connection leaves what was in flight undecided: each request says so.
    sock.on("error", (e) => this.lost((e as NodeJS.ErrnoException).code ?? "EIO", `the connection failed (${e.message})`));
    sock.on("close", () => this.lost("ECONNRESET", "the server closed the connection"));
  }

  /**
   * Connects within `timeoutMs`. A listener whose backlog is full (a flood of connections) is tried
   * again until then, and is a NotNowError (75) after it: node:net reports it as ECONNREFUSED, the same
   * as a stale socket file (71), so a refusal is looked at again (explainRefused).
   */
  static async connect(path = controlSocketPath(), timeoutMs = 5_000): Promise<ControlClient> {
    const deadline = performance.now() + timeoutMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      const left = Math.max(1, deadline - performance.now());
      const r = await ControlClient.connectOnce(path, left, timeoutMs);
      if (r instanceof ControlClient) return r;
      if (r.code !== "ECONNREFUSED") throw connectionError(path, r);
      const why = await explainRefused(path, r);
      if (why !== "busy") throw why;
      if (performance.now() + pause >= deadline) throw backlogFull(path, timeoutMs);
      await Bun.sleep(pause);
    }
  }

  /** One connect: the client, or the connect's error (a timeout is thrown). */
  private static connectOnce(path: string, waitMs: number, timeoutMs: number): Promise<ControlClient | NodeJS.ErrnoException> {
    return new Promise((resolve, reject) => {
      // A path longer than sun_path is connected through its directory's /proc/self/fd alias.
      const addr = unixAddress(path);
      const sock = net.createConnection(addr.address);
      const timer = setTimeout(() => {
        sock.destroy();
        addr.release();
        reject(new SysError("connect", "ETIMEDOUT", 110, `${path}: no connection within ${timeoutMs} ms`));
      }, waitMs);
      sock.once("error", (e) => {
        clearTimeout(timer);
        addr.release();
        resolve(e as NodeJS.ErrnoException);
      });
      sock.once("connect", () => {
        clearTimeout(timer);
        addr.release();
        resolve(new ControlClient(sock, path));
      });
    });
  }

  /** Sends one request; resolves to `result`, rejects with ControlRequestError (or SysError when the connection fails). */
  request(body: RequestBody, timeoutMs = 30_000): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new SysError("control request", "ETIMEDOUT", 110, `${this.path}: "${body.op}" not answered within ${timeoutMs} ms${mayStillHappen(body.op)}`));
      }, timeoutMs);
      this.waiting.set(id, {
        op: body.op,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.sock.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  close(): void {
    this.failure ??= new SysError("control socket", "EBADF", 9, `${this.path}: closed`);
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let parsed;
      let json: unknown = undefined;
      try {
        json = JSON.parse(line);
        parsed = responseSchema().safeParse(json);
      } catch {
        parsed = null;
      }
      if (!parsed?.success) {
        // A server that greets first is no control socket (the evolution socket's hello): a wrong
        // --socket is the caller's system problem (71), not an unreadable answer (70, "a bug").
        const greets = typeof json === "object" && json !== null && !("ok" in json) && "v" in json;
        this.fail(greets ? new SysError("control socket", "EPROTO", 71, `${this.path} is not a control socket (it greeted with ${line.slice(0, 80)}...): is it the evolution socket?`) : new ControlRequestError("parse_error", `unreadable response from the server: ${line.slice(0, 200)}`));
        continue;
      }
      const r = parsed.data;
      if (!r.ok && r.id === null && r.error.message === CLOSING_FOR_SHUTDOWN) {
        // The orderly shutdown's last line: a request in flight may still be carried out (a mutate
        // journaled as the instance stops), as when a connection is lost.
        this.failure ??= new ControlRequestError(r.error.code, r.error.message);
        for (const w of this.waiting.values()) w.reject(new ControlRequestError(r.error.code, `${r.error.message} before "${w.op}" was answered${mayStillHappen(w.op)}`));
        this.waiting.clear();
        continue;
      }
      // Errors the server sends before closing (permission_denied, line_too_long, timeout) carry no id.
      const key = typeof r.id === "number" ? r.id : r.id === null ? [...this.waiting.keys()][0] : undefined;
      const w = key === undefined ? undefined : this.waiting.get(key);
      if (!w || key === undefined) {
        // Unsolicited: an error the server sent before closing; it answers whatever comes next.
        if (!r.ok && r.id === null) this.fail(new ControlRequestError(r.error.code, r.error.message));
        continue;
      }
      this.waiting.delete(key);
      if (r.ok) w.resolve(r.result);
      else w.reject(new ControlRequestError(r.error.code, r.error.message));
    }
  }

  /** The connection is gone: every request in flight is answered with what may have become of it. */
  private lost(code: string, what: string): void {
    for (const w of this.waiting.values()) {
      w.reject(new SysError("control request", code, errnoNumbers[code] ?? 5, `${this.path}: ${what} before "${w.op}" was answered${mayStillHappen(w.op)}`));
    }
    this.waiting.clear();
    this.failure ??= new SysError("control socket", code, errnoNumbers[code] ?? 5, `${this.path}: ${what}`);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

/**
 * For a request sent but not answered: one that changes something may still be carried out (a
 * mutation journaled, a service restarted); retrying blindly could do it twice.
 */
function mayStillHappen(op: string): string {
  if (readOnlyOps.has(op)) return "";
  return `; it was sent, so the instance may still carry it out (check before retrying${op === "mutate" ? ": `vector-boot status` shows the journal position" : ""})`;
}

function connectionError(path: string, e: Error): SysError {
  const code = (e as NodeJS.ErrnoException).code ?? "EIO";
  const hint = code === "ENOENT" ? " (is vector-boot running? --socket PATH)" : code === "EACCES" ? " (the control socket is for root)" : "";
  return new SysError("connect", code, errnoNumbers[code] ?? 5, `${socketPathDetail(path)}${hint}`, { cause: e });
}

/** Connects, sends one request, closes. */
export async function controlRequest(body: RequestBody, opts: { path?: string; timeoutMs?: number } = {}): Promise<unknown> {
  const c = await ControlClient.connect(controlSocketPath(opts.path), Math.min(opts.timeoutMs ?? 5_000, 5_000));
  try {
    return await c.request(body, opts.timeoutMs ?? 30_000);
  } finally {
    c.close();
  }
}
