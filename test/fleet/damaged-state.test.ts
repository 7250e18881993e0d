// A damaged STATE_DIR/fleet-applied.json (truncated JSON, a directory, a FIFO) stopped or hung PID 1's boot: now it only restarts the catch-up.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mkfifo } from "../harness/fifo.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "damaged";

const etcd = useCluster({ beforeStop: [killLeftovers] });

/** A state dir whose fleet-applied.json is made by `damage`. */
function stateDir(damage: (file: string) => void): string {
  const dir = join(tempDir("fleet-damaged-"), "state");
  mkdirSync(dir, { recursive: true });
  damage(join(dir, "fleet-applied.json"));
  return dir;
}

test("a truncated, directory or FIFO fleet-applied.json failed the boot (exit 70) or hung it: each node boots, beats and joins", async () => {
  const dirs = {
    truncated: stateDir((f) => writeFileSync(f, '{"revision": 12')),
    directory: stateDir((f) => mkdirSync(f)),
    fifo: stateDir((f) => mkfifo(join(f, ".."), "fleet-applied.json")),
  };
  const nodes: Node[] = Object.entries(dirs).map(([id, dir]) => bootNode(etcd.cluster, FLEET, id, ["--set", `state_dir=${dir}`]));
  await waitForAsync(async () => {
    const s = await fleetStatus(etcd.cluster, FLEET);
    return s.nodes.length === 3 && s.nodes.every((n) => (n.beats ?? 0) > 0);
  }, 60_000, "the 3 nodes beating and listed", 500);
  for (const n of nodes) {
    expect(n.run.log()).toContain("fleet applied revision unreadable: catching up from the start");
    expect(n.run.log()).not.toContain("boot failed");
  }
}, 90_000);
