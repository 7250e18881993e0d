// `fleet mutate`'s exit codes: an --id reused for other content said "already published" (exit 0); running out of --publish-s exited 71, not 75.
import { expect, test } from "bun:test";
import { runShippedAsync } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";

const etcd = useCluster();

const mutate = (endpoints: string, id: string, value: string, more: string[] = []) =>
  runShippedAsync(["fleet", "mutate", "pixel.0.weight", "5", "--values", value, "--confidence", "0.9", "--id", id, "--endpoints", endpoints, "--name", "cli", ...more], 30_000);

test("fleet mutate --id X with other content than the published X said 'already published' and exited 0: an error naming the conflict", async () => {
  const first = await mutate(etcd.cluster.endpoints.join(","), "dup-1", "0.5");
  expect(first.code).toBe(0);
  // The same content again (a retry by hand) is fine.
  const again = await mutate(etcd.cluster.endpoints.join(","), "dup-1", "0.5");
  expect({ code: again.code, out: again.out }).toMatchObject({ code: 0, out: expect.stringContaining("mutation dup-1 already published") });
  const other = await mutate(etcd.cluster.endpoints.join(","), "dup-1", "0.75");
  expect(other.code).toBe(64);
  expect(other.err).toContain("--id dup-1 is already taken by a different mutation");
}, 60_000);

test("fleet mutate exited 71 when --publish-s ran out (its help says 75): exit 75", async () => {
  // Nothing listens there: every attempt is refused until --publish-s passes.
  const r = await mutate("http://127.0.0.1:9", "late-1", "0.5", ["--publish-s", "1", "--timeout", "500"]);
  expect(r.code).toBe(75);
  expect(r.err).toContain("etcd did not take mutation late-1 within --publish-s 1 s");
}, 30_000);
