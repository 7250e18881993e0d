// Fleet-wide mutations, the operator's side: published once under mutations/<id>, retried until it lands.
import { FleetRefusedError } from "../errors.ts";
import { parseKvJson, type EtcdClient } from "./etcd-client.ts";
import { fleetMutationSchema, mutationsPrefix, type FleetMutation } from "./keys.ts";
import { retryUntil } from "./retry.ts";

/**
 * Publishes once: created only if `id` is new (a retry after an unknown outcome cannot make a second
 * one). Resolves to its revision; `created` is also true when the key holds exactly this value (an
 * earlier attempt with the same `publishedAt` landed though its answer was lost); `same` when the
 * key holds this mutation (any `published_at`): false is a different mutation under this id.
 */
export async function publishMutation(c: EtcdClient, fleet: string, id: string, m: Omit<FleetMutation, "published_at">, timeoutMs = 10_000, publishedAt = Date.now()): Promise<{ revision: number; created: boolean; same: boolean }> {
  const key = `${mutationsPrefix(fleet)}${id}`;
  const value = JSON.stringify({ ...m, published_at: publishedAt } satisfies FleetMutation);
  // Create-only, so a member that stays silent (frozen) is left for the next one within the call.
  const r = await c.createOnly(key, value, timeoutMs);
  if (r.succeeded) return { revision: r.revision, created: true, same: true };
  const existing = (await c.get(key)).kvs[0];
  const old = existing ? parseKvJson(existing.value, fleetMutationSchema) : null;
  const content = (x: Omit<FleetMutation, "published_at">) => JSON.stringify([x.tensor, x.offset, x.values, x.confidence]);
  return { revision: existing?.modRevision ?? r.revision, created: existing?.value === value, same: old?.success === true && content(old.data) === content(m) };
}

/**
 * Publishes, repeating the same create-only write after a failure (no etcd quorum, a leader change,
 * an unknown outcome) until it lands or `deadline` (Date.now() ms) passes: publication waits for the
 * cluster and can never make two. Throws the last error at the deadline. A refusal for good
 * (FleetRefusedError: permission denied, a request too large) is thrown at once: it was retried
 * until the deadline, and `fleet mutate` said "not now" (75) for what waiting cannot mend.
 */
export async function publishUntil(c: EtcdClient, fleet: string, id: string, m: Omit<FleetMutation, "published_at">, deadline: number, onRetry?: (error: unknown, attempt: number) => void): Promise<{ revision: number; created: boolean; same: boolean; attempts: number }> {
  const publishedAt = Date.now();
  return retryUntil(deadline, async (attempts) => ({ ...(await publishMutation(c, fleet, id, m, Math.max(1000, Math.min(10_000, deadline - Date.now())), publishedAt)), attempts }), onRetry, (e) => e instanceof FleetRefusedError);
}
