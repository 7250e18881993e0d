// A node whose failed action was recorded (its done mark) but whose stop mark was lost (etcd failed in between): the rollout was never stopped and the other nodes went on taking slots.
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { doneKey, rolloutKey, rolloutSchema, semKey } from "../../src/fleet/rollout.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";
import { handPolledAgent, putMember } from "./rollout-stand-ins.ts";

const FLEET = "loststop";

const etcd = useCluster();

/** A member's key the way a node writes it (its summary on its lease); resolves to the lease. */
const member = (node: string) => putMember(etcd.client, FLEET, node);

/** The agent of `node` (a member on `lease`); `acted` collects its actions. */
function agent(node: string, lease: string, stateDir: string, acted: string[]): { round(): Promise<void> } {
  // round(): one poll, as the agent's 1 s timer runs it.
  return handPolledAgent({ client: etcd.client, fleet: FLEET, node, lease, stateDir, act: (action) => acted.push(`${node} ${action}`) });
}

test("a node whose failed re-exec was recorded (its done mark) but whose stop mark was lost to an etcd failure never stopped the rollout: its next poll removed its marker, and with K=2 the next node took a slot and acted; it stops the rollout", async () => {
  const s0 = await member("s0");
  const s1 = await member("s1");
  const id = `${Date.now().toString().padStart(15, "0")}-reexec`;
  const reason = "re-exec refused: config file: Unexpected end of JSON input";
  // What s0 leaves when etcd fails right after finish() recorded its failure: the failed done mark,
  // its slot kept, its marker still saying why, the rollout not stopped.
  const rollout = { action: "reexec", max_unavailable: 2, nodes: ["s0", "s1"], created_at: Date.now() };
  const put = await etcd.client.txn([], [opPut(rolloutKey(FLEET, id), JSON.stringify(rollout)), opPut(semKey(FLEET, id), JSON.stringify({ holders: [{ node: "s0", lease: s0, generation: 1 }] })), opPut(doneKey(FLEET, id, "s0"), JSON.stringify({ node: "s0", at: Date.now(), outcome: "failed", reason }))]);
  expect(put.succeeded).toBe(true);
  const dir0 = tempDir("rollout-lost-stop-0-");
  writeFileSync(join(dir0, `fleet-rollout-${id}.acted`), `failed ${reason}\n`);
  const acted: string[] = [];
  await agent("s0", s0, dir0, acted).round();
  await agent("s1", s1, tempDir("rollout-lost-stop-1-"), acted).round();
  const r = rolloutSchema.parse(JSON.parse((await etcd.client.get(rolloutKey(FLEET, id))).kvs[0]!.value));
  // The old code: not stopped, s0's marker gone (so nothing would ever stop it), and s1 re-exec'd.
  expect({ stopped: r.stopped ?? null, acted, marker: existsSync(join(dir0, `fleet-rollout-${id}.acted`)) }).toEqual({ stopped: { node: "s0", reason }, acted: [], marker: false });
}, 60_000);
