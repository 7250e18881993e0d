// An etcd watch over the gateway's streaming /v3/watch: newline-delimited JSON, health-checked, ended on any doubt.
import { z } from "zod";
import { b64, kvSchema, prefixEnd, toKv, type EtcdClient, type Kv } from "./etcd-client.ts";
import { abortableSleep } from "./retry.ts";

const int64 = z.union([z.string(), z.number()]).transform((v) => Number(v));
const watchMessage = z.object({
  result: z
    .object({
      header: z.object({ revision: int64.optional() }).passthrough().optional(),
      created: z.boolean().optional(),
      canceled: z.boolean().optional(),
      compact_revision: int64.optional(),
      cancel_reason: z.string().optional(),
      events: z.array(z.object({ type: z.string().optional(), kv: kvSchema })).optional(),
    })
    .passthrough(),
});

export type WatchEnd = { kind: "compacted"; compactRevision: number } | { kind: "broken"; error: string } | { kind: "closed" };

export interface WatchOptions {
  prefix: string;
  fromRevision: number;
  /** PUT events of one response, in revision order (DELETEs are left out). Awaited: back-pressure. */
  onEvents(kvs: Kv[], headerRevision: number): Promise<void>;
  /** The endpoint and the stream are checked this often (checkLoop). */
  healthEveryMs?: number;
  signal?: AbortSignal;
}

/**
 * Watches `prefix` from `fromRevision` on the client's current endpoint until the stream ends, the
 * member fails a health check (then the client fails over), etcd says the revision was compacted, or
 * `signal` aborts. Resolves to why it ended; the caller resumes from the last revision it applied.
 */
export async function watchOnce(c: EtcdClient, o: WatchOptions): Promise<WatchEnd> {
  const ctl = new AbortController();
  const abort = () => ctl.abort();
  // Already aborted (the node stopping between its catch-up and this watch): "abort" will not fire
  // again, so the watch went on at a healthy member with nothing to end it, and the stop hung.
  if (o.signal?.aborted) return { kind: "closed" };
  o.signal?.addEventListener("abort", abort);
  const endpoint = c.endpoint;
  const seen: Seen = { revision: o.fromRevision - 1, busy: false, chunks: 0 };
  let why: string | null = null;
  void checkLoop(c, endpoint, o.prefix, o.healthEveryMs ?? 2000, seen, ctl.signal, (reason) => {
    why = reason;
    ctl.abort();
  });
  try {
    const body = { create_request: { key: b64(o.prefix), range_end: prefixEnd(o.prefix), start_revision: String(o.fromRevision) } };
    const r = await fetch(`${endpoint}/v3/watch`, c.fetchInit(body, ctl.signal));
    if (!r.ok || !r.body) return { kind: "broken", error: `HTTP ${r.status}` };
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of r.body) {
      seen.chunks++;
      buf += dec.decode(chunk, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const m = watchMessage.safeParse(JSON.parse(line));
        if (!m.success) return { kind: "broken", error: `unexpected watch message: ${line.slice(0, 200)}` };
        const res = m.data.result;
        if (res.compact_revision) return { kind: "compacted", compactRevision: res.compact_revision };
        if (res.canceled) return { kind: "broken", error: `watch canceled: ${res.cancel_reason ?? "?"}` };
        const events = res.events ?? [];
        const puts = events.filter((e) => e.type !== "DELETE").map((e) => toKv(e.kv));
        seen.busy = true;
        try {
          if (puts.length > 0) await o.onEvents(puts, res.header?.revision ?? 0);
        } finally {
          seen.busy = false;
        }
        for (const e of events) seen.revision = Math.max(seen.revision, e.kv.mod_revision ?? 0);
      }
    }
    return o.signal?.aborted ? { kind: "closed" } : { kind: "broken", error: "stream ended" };
  } catch (e) {
    if (o.signal?.aborted) return { kind: "closed" };
    return { kind: "broken", error: why ?? String(e).slice(0, 200) };
  } finally {
    ctl.abort(); // ends the checks (one in flight finishes on its own: a stop does not wait for it)
    o.signal?.removeEventListener("abort", abort);
    if (why !== null || !o.signal?.aborted) c.failover();
  }
}

/** What the stream has delivered: the highest revision of its events, whether its consumer is at work on some, how many chunks came. */
interface Seen {
  revision: number;
  busy: boolean;
  chunks: number;
}

/**
 * Every `everyMs` until `signal`: the member's health (a SIGSTOPped member keeps the stream open and
 * silent), then whether the stream still delivers. A stream cut silently (its connection dropped by
 * the network or a proxy, the member healthy) delivered nothing ever again and the node applied no
 * fleet mutation: a revision under the prefix that etcd has and the watch has not delivered for a
 * whole period, in which nothing came and its consumer was idle, ends it (`stop(reason)`).
 */
async function checkLoop(c: EtcdClient, endpoint: string, prefix: string, everyMs: number, seen: Seen, signal: AbortSignal, stop: (reason: string) => void): Promise<void> {
  let owed = 0;
  let chunks = 0;
  while (!signal.aborted) {
    await abortableSleep(everyMs, signal);
    if (signal.aborted) return;
    const healthy = await c.health(endpoint, 2000);
    if (signal.aborted) return;
    if (!healthy) return stop(`member ${endpoint} failed its health check`);
    if (owed > seen.revision && !seen.busy && seen.chunks === chunks) return stop(`the watch on ${endpoint} delivered nothing of what was written after revision ${owed - 1} in ${everyMs} ms (its stream was cut silently)`);
    chunks = seen.chunks;
    const since = seen.revision;
    const latest = await c.latestModRevision(endpoint, prefix, 2000);
    // Something written after what was delivered: at least the revision after it is owed.
    if (latest !== null) owed = latest > since ? Math.max(owed, since + 1) : 0;
  }
}
