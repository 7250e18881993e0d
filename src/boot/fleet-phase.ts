// Boot phase "fleet": joins the etcd fleet (membership under a lease) when the config has a `fleet` section.
import { hostname } from "node:os";
import { z } from "zod";
import { EtcdClient } from "../fleet/etcd-client.ts";
import { Membership } from "../fleet/membership.ts";
import { logger } from "../log.ts";
import { modelSha256 } from "../rts/model-source.ts";
import { handedOver, type Boot, type PhaseRun } from "./phase.ts";

const log = logger("fleet");

const fleetHandoff = z.object({ lease: z.string().regex(/^[1-9][0-9]{0,19}$/).nullable() }).strict();

/** The status summary this node publishes (read live at each refresh). */
function summary(b: Boot) {
  let sha: string | null = null;
  return () => {
    const hb = b.heartbeat?.stats() ?? null;
    const evo = b.evolution?.evo.stats() ?? null;
    if (sha === null && b.model) {
      try {
        sha = evo?.lineage ?? modelSha256(b.model.source);
      } catch {
        sha = null;
      }
    }
    return {
      pid1: b.ctx.pid1,
      generation: b.generation,
      model: b.model ? { name: b.model.info.name, sha256: sha } : null,
      journal_seq: evo ? evo.journalDurableSeq : null,
      beats: hb ? hb.beat : null,
      lateness_ms: hb ? hb.jitterMs : null,
      missed: hb ? hb.missed : null,
      interrupts: hb ? hb.interrupts.filter((i) => i.active).map((i) => i.name) : [],
      services: Object.fromEntries((b.supervisor?.list() ?? []).map((s) => [s.name, s.state])),
    };
  };
}

/** Starts membership in the background (never waits on etcd); null without a `fleet` section. */
export function startFleet(b: Boot): PhaseRun | void {
  const f = b.config.fleet;
  if (!f) return;
  let client: EtcdClient;
  try {
    client = new EtcdClient({ endpoints: f.endpoints, ...(f.tls ? { tls: f.tls } : {}), ...(f.auth ? { auth: f.auth } : {}) });
  } catch (e) {
    log.error("fleet disabled: cannot set up the etcd client", { error: String(e) });
    return;
  }
  const inherited = fleetHandoff.safeParse(handedOver(b, "fleet"));
  const node = f.node_id ?? hostname();
  const m = new Membership({ client, fleet: f.name, node, ttlS: f.lease_ttl_s, summary: summary(b), leaseId: inherited.success ? inherited.data.lease : null });
  log.info("phase fleet", { fleet: f.name, node, endpoints: f.endpoints.join(","), lease_ttl_s: f.lease_ttl_s });
  m.start();
  return {
    stop: () => m.stop(),
    // The next image keeps the same lease (no flap of the node's key across a re-exec).
    handoff: async () => ({ lease: await m.pause() }),
    resume: () => m.start(),
  };
}
