// A caller waiting on `stop NAME` or `restart NAME` across a live re-exec: it follows through to the new image and gets the real outcome.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, waitFor } from "./harness.ts";
import { lines } from "./file-text.ts";
import { shutDown } from "./live-reexec.ts";
import { listServices } from "./service-boot.ts";
import { acrossReexec } from "./slow-stopper.ts";

afterEach(killLeftovers);

test("`stop NAME` waiting when a live re-exec came exited 71 ('may still carry it out') although the new image finished the stop; it follows through and exits 0 once the service is stopped", async () => {
  const { run, sock, ev, result } = await acrossReexec("stop");
  expect({ code: result.code, out: result.out, err: result.err }).toEqual({ code: 0, out: "svc: stopped (stopped)\n", err: "" });
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toBe("stopped");
  expect(lines(ev)).toEqual(["main", "term"]);
  await shutDown(run);
}, 120_000);

test("`restart NAME` waiting when a live re-exec came exited 71 ('may still carry it out') although the new image finished the restart; it follows through and exits 0 once the service was started again", async () => {
  const { run, sock, ev, result } = await acrossReexec("restart");
  expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: "" });
  expect(result.out).toMatch(/^svc: restarted \((starting|running), pid \d+\)\n$/);
  await waitFor(() => lines(ev).filter((l) => l === "main").length === 2, 30_000, "the service's next run");
  expect(lines(ev)).toEqual(["main", "term", "main"]);
  expect((await listServices(sock)).find((s) => s.name === "svc")?.state).toMatch(/^(starting|running)$/);
  await shutDown(run);
}, 120_000);
