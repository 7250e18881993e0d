// `stop NAME` across a live re-exec whose new image answers slowly at the end of the wait: the last poll is given time to be answered.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { tempDir } from "./harness.ts";
import { oldImage, slowNextImage, type Row } from "./stand-in-image.ts";

let servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

/** The client's wait after a re-exec (src/cli/service-ctl-reexec.ts: REEXEC_WAIT_MS, --timeout being shorter). */
const WAIT_MS = 30_000;

test("`stop NAME` across a live re-exec whose new image answered its last poll 3 s late (a loaded machine) exited 71 (that poll was sent with the few ms left of the wait and timed out); it exits 75: the service was still stopping", async () => {
  const path = join(tempDir(), "control");
  const stopping: Row = { state: "stopping", pid: 4242, restarts: 0, lastStatus: null };
  let droppedAt = 0;
  // Prompt answers until the last 2.5 s of the client's wait, then 3 s late.
  const late = () => (performance.now() - droppedAt > WAIT_MS - 2_500 ? 3_000 : 0);
  const old = oldImage(path, { ...stopping, state: "running" }, "stop", () => {
    droppedAt = performance.now();
    servers.push(slowNextImage(path, stopping, late));
  });
  servers.push({ close: () => old.close() });
  const r = await runShippedAsync(["stop", "svc", "--socket", path, "--timeout", "1000"], 60_000);
  expect({ code: r.code, out: r.out }).toEqual({ code: 75, out: "" });
  expect(r.err).toContain("svc: the instance re-exec'd live and the service was still stopping at the end of the wait");
}, 60_000);
