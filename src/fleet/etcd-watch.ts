// An etcd watch over the gateway's streaming /v3/watch: newline-delimited JSON, health-checked, ended on any doubt.
import { z } from "zod";
import { b64, kvSchema, prefixEnd, toKv, type EtcdClient, type Kv } from "./etcd-client.ts";

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
  /** The endpoint is checked this often (a SIGSTOPped member keeps the stream open and silent). */
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
  let unhealthy = false;
  const health = setInterval(async () => {
    if (!(await c.health(endpoint, 2000))) {
      unhealthy = true;
      ctl.abort();
    }
  }, o.healthEveryMs ?? 2000);
  try {
    const body = { create_request: { key: b64(o.prefix), range_end: prefixEnd(o.prefix), start_revision: String(o.fromRevision) } };
    const r = await fetch(`${endpoint}/v3/watch`, c.fetchInit(body, ctl.signal));
    if (!r.ok || !r.body) return { kind: "broken", error: `HTTP ${r.status}` };
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of r.body) {
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
        const puts = (res.events ?? []).filter((e) => e.type !== "DELETE").map((e) => toKv(e.kv));
        if (puts.length > 0) await o.onEvents(puts, res.header?.revision ?? 0);
      }
    }
    return o.signal?.aborted ? { kind: "closed" } : { kind: "broken", error: "stream ended" };
  } catch (e) {
    if (o.signal?.aborted) return { kind: "closed" };
    return { kind: "broken", error: unhealthy ? `member ${endpoint} failed its health check` : String(e).slice(0, 200) };
  } finally {
    clearInterval(health);
    o.signal?.removeEventListener("abort", abort);
    if (unhealthy || !o.signal?.aborted) c.failover();
  }
}
