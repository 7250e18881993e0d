// A `file` readiness probe was the file's existence: a ready file left by an earlier run made the service ready at once, and its dependents started against a service that was not up.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lines } from "./file-text.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

test("a ready file already there when db starts made db ready at once and api (depends_on db) started before db was up; the file counts only once made since db's spawn", async () => {
  const dir = tempDir();
  const ready = join(dir, "db.ready");
  const events = join(dir, "events");
  // Left by an earlier run (the user's file: it is not deleted).
  writeFileSync(ready, "stale\n");
  const { run } = bootServices(dir, [
    // db says it is about to be up, 1 s after its start, and only then makes its ready file.
    { name: "db", argv: ["sh", "-c", `sleep 1; echo db-up >> ${events}; touch ${ready}; exec sleep 600`], ready: { file: ready, interval_ms: 20 } },
    { name: "api", depends_on: ["db"], argv: ["sh", "-c", `echo api-started >> ${events}; exec sleep 600`] },
  ]);
  await waitFor(() => lines(events).length === 2, 20_000, "db up and api started");
  expect(lines(events)).toEqual(["db-up", "api-started"]);
  expect(run.log().indexOf("service ready service=db")).toBeLessThan(run.log().indexOf("service started service=api"));
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
