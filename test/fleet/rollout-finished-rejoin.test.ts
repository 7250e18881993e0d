// A rollout `fleet rollout` reported finished (a node gone) was in progress again when that node rejoined: it blocked the next rollout and the node acted on its own.
import { expect, test } from "bun:test";
import { doneKey, rolloutStates, rolloutsPrefix } from "../../src/fleet/rollout.ts";
import { runShippedAsync, tempDir } from "../harness/artifact.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";
import { handPolledAgent, putMember } from "./rollout-stand-ins.ts";

const FLEET = "rejoin";

const etcd = useCluster();

/** A member's key the way a node writes it (its summary on its lease), with no node behind it. */
const member = (node: string) => putMember(etcd.client, FLEET, node);

test("a rollout fleet rollout reported finished (one node done, one gone) became in progress again when the gone node rejoined: the next rollout was refused (75) and the returning node took a slot and re-exec'd on its own; the finish is now recorded once", async () => {
  await member("j0");
  const j1 = await member("j1");
  const cli = runShippedAsync(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--timeout-s", "30", "--json", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET], 45_000);
  let id = "";
  await waitForAsync(
    async () => {
      id = (await etcd.client.get(rolloutsPrefix(FLEET), { prefix: true })).kvs[0]?.key.slice(rolloutsPrefix(FLEET).length) ?? "";
      return id !== "";
    },
    20_000,
    "the rollout created",
    50,
  );
  // j1 leaves the fleet (its lease revoked, as at an orderly shutdown) before taking a slot; j0 is done.
  await etcd.client.revoke(j1);
  await etcd.client.createOnly(doneKey(FLEET, id, "j0"), JSON.stringify({ node: "j0", at: Date.now(), outcome: "ok" }));
  const r = await cli;
  expect(r.code).toBe(65);
  expect(r.out).toContain('"event":"finished","done":["j0"],"gone":["j1"]');
  // j1 comes back (a new lease, as after a reboot).
  const back = await member("j1");
  const state = (await rolloutStates(etcd.client, FLEET)).states.find((s) => s.id === id);
  const acted: string[] = [];
  const agent = handPolledAgent({ client: etcd.client, fleet: FLEET, node: "j1", lease: back, stateDir: tempDir("rollout-rejoin-"), act: (action) => acted.push(action) });
  // One poll, as the agent's 1 s timer runs it.
  await agent.round();
  // The old code recomputed the rollout's status from live membership: in progress again, and j1 acted.
  expect({ inProgress: state?.inProgress, acted }).toEqual({ inProgress: false, acted: [] });
}, 90_000);
