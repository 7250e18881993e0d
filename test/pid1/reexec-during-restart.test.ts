// A live re-exec while a `restart` waited for its service to stop: the new image finishes the stop and starts the service again.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, waitFor } from "./harness.ts";
import { lines } from "./file-text.ts";
import { shutDown } from "./live-reexec.ts";
import { listServices } from "./service-boot.ts";
import { acrossReexec } from "./slow-stopper.ts";

afterEach(killLeftovers);

test("a live re-exec while `restart` waited out the service's stop left the service stopped for good (the restart's start went with the old image); the new image now starts it once the stop is over", async () => {
  // Its connection goes with the old image; the command follows through to the new one (reexec-during-stop-wait.test.ts).
  const { run, sock, ev, result } = await acrossReexec("restart");
  await waitFor(() => lines(ev).filter((l) => l === "main").length === 2, 30_000, "the service's next run");
  expect(result.code).toBe(0);
  await waitFor(async () => (await listServices(sock)).find((s) => s.name === "svc")?.state === "running", 30_000, "svc running");
  expect(lines(ev)).toEqual(["main", "term", "main"]);
  await shutDown(run);
}, 120_000);
