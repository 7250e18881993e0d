// An etcd v3 client over etcd's HTTP/JSON gateway (fetch): a deadline on every call, failover, no blind retries of writes whose outcome is not idempotent.
import { z } from "zod";
import { FleetError, FleetRefusedError, refusedForGood } from "../errors.ts";
import { readRegularFile } from "../util/regular-file.ts";
import { AuthUnavailable, EtcdAuth } from "./etcd-auth.ts";
import { abortableSleep } from "./retry.ts";

/** Connection settings (the `fleet` config section's transport part). */
export interface EtcdOptions {
  endpoints: string[];
  tls?: { ca?: string; cert?: string; key?: string };
  auth?: { user: string; password_file: string };
  /** Deadline of one call (ms). */
  callTimeoutMs?: number;
}

const int64 = z.union([z.string(), z.number()]).transform((v) => Number(v));
const header = z.object({ revision: int64.optional(), cluster_id: z.string().optional() }).passthrough();
export const kvSchema = z.object({
  key: z.string(),
  value: z.string().optional(),
  create_revision: int64.optional(),
  mod_revision: int64.optional(),
  version: int64.optional(),
  lease: z.union([z.string(), z.number()]).transform(String).optional(),
});
const rangeResponse = z.object({ header, kvs: z.array(kvSchema).optional(), count: int64.optional() }).passthrough();
const putResponse = z.object({ header }).passthrough();
const txnResponse = z.object({ header, succeeded: z.boolean().optional(), responses: z.array(z.unknown()).optional() }).passthrough();
const grantResponse = z.object({ header, ID: z.string(), TTL: int64, error: z.string().optional() }).passthrough();
const timeToLiveResponse = z.object({ header, TTL: int64.optional(), grantedTTL: int64.optional() }).passthrough();
const keepaliveResponse = z.object({ result: z.object({ header: header.optional(), ID: z.string().optional(), TTL: int64.optional() }).passthrough() }).passthrough();
const errorBody = z.object({ error: z.string().optional(), message: z.string().optional(), code: z.number().optional() }).passthrough();

/** Lease ids are 64-bit: kept as decimal strings (a Number loses their low bits). */
export type LeaseId = string;
export type Kv = { key: string; value: string; createRevision: number; modRevision: number; lease: LeaseId };

export const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
export const unb64 = (s: string | undefined): string => (s === undefined ? "" : Buffer.from(s, "base64").toString("utf8"));

/** The end of a key range covering every key with `prefix`. */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, "utf8");
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i]! += 1;
      return out.toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64");
}

export const toKv = (k: z.infer<typeof kvSchema>): Kv => ({
  key: unb64(k.key),
  value: unb64(k.value),
  createRevision: k.create_revision ?? 0,
  modRevision: k.mod_revision ?? 0,
  lease: k.lease ?? "0",
});

/** A key's JSON value checked against `schema`; a value that is not JSON fails like one of the wrong shape. */
export function parseKvJson<T>(value: string, schema: z.ZodType<T>): z.ZodSafeParseResult<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  return schema.safeParse(parsed);
}

/** A comparison of a transaction (etcd's Compare, in the gateway's JSON shape). */
export type Compare = Record<string, unknown>;
export const cmpCreate = (key: string, rev: number): Compare => ({ key: b64(key), target: "CREATE", result: "EQUAL", create_revision: String(rev) });
/** The key is still as read: at mod revision `modRevision`, or still absent when that is 0 (a compare-and-swap guard). */
export const cmpUnchanged = (key: string, modRevision: number): Compare =>
  modRevision === 0 ? cmpCreate(key, 0) : { key: b64(key), target: "MOD", result: "EQUAL", mod_revision: String(modRevision) };
/**
 * No key starting with `prefix` was created or changed after `revision` (every one's mod revision is
 * at most it; etcd compares an empty range as one zero KeyValue, so none passes). A key deleted since
 * is not seen: the guard is for "nothing new appeared", as of a read at `revision`.
 */
export const cmpPrefixUnchangedSince = (prefix: string, revision: number): Compare => ({ key: b64(prefix), range_end: prefixEnd(prefix), target: "MOD", result: "LESS", mod_revision: String(revision + 1) });
/** The key is attached to lease `lease` (a guard that only the lease's holder's write passes). */
export const cmpLease = (key: string, lease: LeaseId): Compare => ({ key: b64(key), target: "LEASE", result: "EQUAL", lease });
/** Deletes every key starting with `prefix`. */
export const opDeletePrefix = (prefix: string): Record<string, unknown> => ({ request_delete_range: { key: b64(prefix), range_end: prefixEnd(prefix) } });
export const opPut = (key: string, value: string, lease: LeaseId = "0"): Record<string, unknown> => ({ request_put: { key: b64(key), value: b64(value), ...(lease !== "0" ? { lease } : {}) } });
export const opDelete = (key: string): Record<string, unknown> => ({ request_delete_range: { key: b64(key) } });

/** Was the request surely not sent (connection refused/reset before a byte), so another member may take it? */
function notSent(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? "";
  return code === "ECONNREFUSED" || code === "ConnectionRefused" || code === "FailedToOpenSocket" || /refused|Unable to connect/i.test(String(e));
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** The least a read's attempt on one member is given before it moves on (when the deadline leaves that much). */
const ATTEMPT_MIN_MS = 1000;

export class EtcdClient {
  readonly endpoints: string[];
  private current = 0;
  private readonly auth: EtcdAuth | null;
  private inflight = new AbortController();
  private readonly tls: { ca?: string; cert?: string; key?: string } | undefined;
  readonly callTimeoutMs: number;

  constructor(opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new FleetError("fleet.endpoints is empty");
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.callTimeoutMs = opts.callTimeoutMs ?? 3000;
    // Regular files only: a FIFO named here would hold PID 1's event loop in open() (src/util/regular-file.ts).
    const read = (p?: string) => (p ? readRegularFile(p).toString("utf8") : undefined);
    this.tls = opts.tls ? { ca: read(opts.tls.ca), cert: read(opts.tls.cert), key: read(opts.tls.key) } : undefined;
    this.auth = opts.auth ? new EtcdAuth(opts.auth, (body, signal, token) => this.fetchInit(body, signal, token)) : null;
  }

  /**
   * Ends every call in flight now (each fails at once): a stop must not wait out their deadlines
   * while etcd does not answer. Calls made afterwards (the lease's revoke) are not affected.
   */
  abortInFlight(): void {
    this.inflight.abort();
    this.inflight = new AbortController();
  }

  /** The endpoint calls go to now (it moves on after a failure). */
  get endpoint(): string {
    return this.endpoints[this.current % this.endpoints.length]!;
  }

  /** Move to the next member (after a failed call or an unhealthy watch). */
  failover(): void {
    this.current = (this.current + 1) % this.endpoints.length;
  }

  /** fetch options shared by calls and watches (TLS, auth token: the current one unless given). */
  fetchInit(body: unknown, signal: AbortSignal, token: string | null = this.auth?.token ?? null): RequestInit {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = token;
    return { method: "POST", body: JSON.stringify(body), headers, signal, ...(this.tls ? { tls: { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key } } : {}) } as RequestInit;
  }

  /**
   * One gateway call under a deadline. Reads and writes whose outcome is idempotent (`idempotent`:
   * a create-only txn, see createOnly) move on to the next member after any failure until the
   * deadline; other writes only when the request surely was not sent (connection refused): after a
   * timeout their outcome is unknown and the caller must check (never a blind retry).
   */
  async call<T>(path: string, body: unknown, schema: z.ZodType<T>, opts: { idempotent: boolean; timeoutMs?: number }): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? this.callTimeoutMs);
    const cancel = this.inflight.signal;
    let lastErr: unknown = null;
    // Back-off after each full sweep of the members failing (250 ms doubling to 5 s, within the
    // deadline): refused connections fail at once, and retrying them at once spun a core.
    let backoff = BACKOFF_MIN_MS;
    let failed = 0;
    const pause = async () => {
      this.failover();
      if (++failed % this.endpoints.length !== 0) return;
      await abortableSleep(Math.min(backoff, Math.max(0, deadline - Date.now())), cancel);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    };
    /** The token a 401 refused (expired): the next attempt authenticates once more (once per call). */
    let stale: string | null = null;
    let reauthenticated = false;
    while (Date.now() < deadline) {
      if (cancel.aborted) throw new FleetError(`etcd ${path}: aborted (the fleet phase is stopping)`, { cause: lastErr });
      const endpoint = this.endpoint;
      // A read's (or create-only write's) attempt gets its share of what is left (the members not
      // tried in this sweep): a frozen member (SIGSTOPped, paused VM) accepts the connection and stays
      // silent, and took the whole deadline, so a call that started there never reached the healthy
      // ones. Another write keeps the whole deadline: after a timeout its outcome is unknown and it
      // is not sent elsewhere.
      const left = Math.max(1, deadline - Date.now());
      const share = opts.idempotent ? Math.max(Math.min(left, ATTEMPT_MIN_MS), left / (this.endpoints.length - (failed % this.endpoints.length))) : left;
      const signal = AbortSignal.any([AbortSignal.timeout(Math.ceil(share)), cancel]);
      try {
        const token: string | null = this.auth ? await this.auth.tokenFor(endpoint, signal, stale) : null;
        const r = await fetch(`${endpoint}${path}`, this.fetchInit(body, signal, token));
        const text = await r.text();
        if (r.status === 401 && this.auth && !reauthenticated) {
          // An expired token: the request was refused, so it may be sent again with a new one.
          stale = token;
          reauthenticated = true;
          continue;
        }
        if (!r.ok) {
          // Not always JSON (Go's "404 page not found", a load balancer's HTML 502): JSON.parse threw a
          // SyntaxError that lost the status (a read said "no member answered", a write "outcome unknown").
          const e = parseKvJson(text, errorBody);
          const msg = e.success ? (e.data.error ?? e.data.message ?? text) : text;
          const said = `etcd ${path} at ${endpoint}: HTTP ${r.status}: ${msg.slice(0, 300)}`;
          // A 4xx that is not etcd's JSON error came from something else at that address (a member's
          // peer port, http:// to a TLS member, a proxy's page): the request never reached etcd, so
          // it goes to the next member, a write too. Taken for a refusal, it kept every call on that
          // member while the others were healthy.
          if (!e.success && r.status < 500) {
            lastErr = new FleetError(`${said} (not an etcd answer)`);
            await pause();
            continue;
          }
          const err = refusedForGood(r.status) ? new FleetRefusedError(said, r.status) : new FleetError(said);
          // 503 (no leader, request timed out) may have been applied for a write: the caller decides.
          if (!opts.idempotent || r.status < 500) throw err;
          lastErr = err;
          await pause();
          continue;
        }
        return schema.parse(JSON.parse(text));
      } catch (e) {
        if (e instanceof FleetError) throw e;
        if (cancel.aborted) throw new FleetError(`etcd ${path} at ${endpoint}: aborted (the fleet phase is stopping)`, { cause: e });
        if (e instanceof z.ZodError) throw new FleetError(`etcd ${path} at ${endpoint}: unexpected response: ${e.message.slice(0, 300)}`);
        lastErr = e;
        // Authentication at this member failed: the call's request was not sent, a write's neither.
        if (e instanceof AuthUnavailable) {
          await pause();
          continue;
        }
        if (!opts.idempotent && !notSent(e)) {
          this.failover();
          throw new FleetError(`etcd ${path} at ${endpoint}: ${String(e)} (outcome unknown)`, { cause: e });
        }
        await pause();
      }
    }
    throw new FleetError(`etcd ${path}: no member answered within ${opts.timeoutMs ?? this.callTimeoutMs} ms (${String(lastErr)})`, { cause: lastErr });
  }

  /** `clusterId`: the etcd cluster that answered (its response header's cluster_id), null when it said none. */
  async get(key: string, opts: { prefix?: boolean; timeoutMs?: number } = {}): Promise<{ kvs: Kv[]; revision: number; clusterId: string | null }> {
    const body: Record<string, unknown> = { key: b64(key) };
    if (opts.prefix) body.range_end = prefixEnd(key);
    const r = await this.call("/v3/kv/range", body, rangeResponse, { idempotent: true, timeoutMs: opts.timeoutMs });
    return { kvs: (r.kvs ?? []).map(toKv), revision: r.header.revision ?? 0, clusterId: r.header.cluster_id ?? null };
  }

  /**
   * The highest mod revision among the keys under `prefix` (0: none), asked of `endpoint` alone (a
   * watch's check: the client's calls are not failed over by it), or null when it did not answer.
   * (count_only with min_mod_revision is no shortcut: etcd counts the whole range, filters or not.)
   */
  async latestModRevision(endpoint: string, prefix: string, timeoutMs = 2000): Promise<number | null> {
    try {
      const body = { key: b64(prefix), range_end: prefixEnd(prefix), limit: 1, sort_order: "DESCEND", sort_target: "MOD", keys_only: true };
      const r = await fetch(`${endpoint}/v3/kv/range`, this.fetchInit(body, AbortSignal.timeout(timeoutMs)));
      return r.ok ? (rangeResponse.parse(await r.json()).kvs?.[0]?.mod_revision ?? 0) : null;
    } catch {
      return null;
    }
  }

  /** How many keys start with `prefix` (no values sent). */
  async count(prefix: string, timeoutMs?: number): Promise<number> {
    const r = await this.call("/v3/kv/range", { key: b64(prefix), range_end: prefixEnd(prefix), count_only: true }, rangeResponse, { idempotent: true, timeoutMs });
    return r.count ?? 0;
  }

  /** A plain put (not retried on an unknown outcome): resolves to the revision. */
  async put(key: string, value: string, opts: { lease?: LeaseId; timeoutMs?: number } = {}): Promise<number> {
    const body: Record<string, unknown> = { key: b64(key), value: b64(value) };
    if (opts.lease && opts.lease !== "0") body.lease = opts.lease;
    const r = await this.call("/v3/kv/put", body, putResponse, { idempotent: false, timeoutMs: opts.timeoutMs });
    return r.header.revision ?? 0;
  }

  async txn(compare: Compare[], success: Record<string, unknown>[], failure: Record<string, unknown>[] = [], timeoutMs?: number): Promise<{ succeeded: boolean; revision: number; responses: unknown[] }> {
    const r = await this.call("/v3/kv/txn", { compare, success, failure }, txnResponse, { idempotent: false, timeoutMs });
    return { succeeded: r.succeeded === true, revision: r.header.revision ?? 0, responses: r.responses ?? [] };
  }

  /**
   * Creates `key` holding `value` unless the key exists (compare create_revision == 0, then put).
   * Its outcome is idempotent, so it is sent on to the next member after a silent or failed attempt
   * like a read: when an earlier attempt landed after all, this one's compare fails, and the caller
   * reads the key (its own value there is its own write, as after any retry of a create-only write).
   * `guards`: more compares that must hold too (they only make it fail more: still idempotent).
   */
  async createOnly(key: string, value: string, timeoutMs?: number, guards: Compare[] = []): Promise<{ succeeded: boolean; revision: number }> {
    const r = await this.call("/v3/kv/txn", { compare: [cmpCreate(key, 0), ...guards], success: [opPut(key, value)] }, txnResponse, { idempotent: true, timeoutMs });
    return { succeeded: r.succeeded === true, revision: r.header.revision ?? 0 };
  }

  async grant(ttlS: number, timeoutMs?: number): Promise<{ id: LeaseId; ttl: number }> {
    if (ttlS < 10) throw new FleetError(`lease TTL ${ttlS} s is below the 10 s minimum`);
    // A granted but unknown lease only expires: granting again is harmless.
    const r = await this.call("/v3/lease/grant", { TTL: String(ttlS) }, grantResponse, { idempotent: true, timeoutMs });
    if (r.error) throw new FleetError(`etcd lease grant: ${r.error}`);
    return { id: r.ID, ttl: r.TTL };
  }

  /** Renews a lease once; resolves to its remaining TTL (0: it is gone). */
  async keepalive(id: LeaseId, timeoutMs?: number): Promise<number> {
    const r = await this.call("/v3/lease/keepalive", { ID: id }, keepaliveResponse, { idempotent: true, timeoutMs });
    return r.result.TTL ?? 0;
  }

  /** A lease's remaining and granted TTL in seconds, by etcd's clock (remaining -1 or 0: it is gone). */
  async timeToLive(id: LeaseId, timeoutMs?: number): Promise<{ remaining: number; granted: number }> {
    const r = await this.call("/v3/lease/timetolive", { ID: id }, timeToLiveResponse, { idempotent: true, timeoutMs });
    return { remaining: r.TTL ?? -1, granted: r.grantedTTL ?? 0 };
  }

  async revoke(id: LeaseId, timeoutMs?: number): Promise<void> {
    await this.call("/v3/lease/revoke", { ID: id }, z.unknown(), { idempotent: true, timeoutMs });
  }

  async health(endpoint: string, timeoutMs = 2000): Promise<boolean> {
    try {
      const init = this.fetchInit(undefined, AbortSignal.timeout(timeoutMs));
      const r = await fetch(`${endpoint}/health`, { ...init, method: "GET", body: undefined });
      return r.ok && z.object({ health: z.string() }).passthrough().parse(await r.json()).health === "true";
    } catch {
      return false;
    }
  }
}
