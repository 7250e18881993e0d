// Readiness probes (tcp, http, exec, file) and health checks of real services, pre_start/post_stop hooks, and how a failed start is logged.
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../scripts/etcd-cluster.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { lines, read } from "./file-text.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

describe("readiness", () => {
  test("tcp, http, exec and file probes: a dependent starts only after all four pass; a service never ready is killed at its timeout", async () => {
    const dir = tempDir();
    const flag = join(dir, "flag");
    // Ports free now (a fixed one may be taken on the host, and a listener there would pass the probe).
    const port = await freePort();
    let httpPort = await freePort();
    while (httpPort === port) httpPort = await freePort();
    const listen = (p: number, http: boolean) =>
      http
        ? `import http.server, time\ntime.sleep(0.3)\nhttp.server.HTTPServer(("127.0.0.1", ${p}), http.server.SimpleHTTPRequestHandler).serve_forever()`
        : `import socket, time\ntime.sleep(0.3)\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", ${p})); s.listen()\nwhile True: time.sleep(1)`;
    const { run, list } = bootServices(dir, [
      { name: "tcp", argv: [python, "-c", listen(port, false)], ready: { tcp: port } },
      { name: "web", argv: [python, "-c", listen(httpPort, true)], cwd: dir, ready: { http: `http://127.0.0.1:${httpPort}/` } },
      { name: "cmd", argv: ["sh", "-c", `sleep 0.3; touch ${flag}.cmd; exec sleep 1000`], ready: { exec: ["test", "-e", `${flag}.cmd`] } },
      { name: "file", argv: ["sh", "-c", `sleep 0.3; touch ${flag}; exec sleep 1000`], ready: { file: flag } },
      { name: "after", argv: ["sleep", "1000"], depends_on: ["tcp", "web", "cmd", "file"] },
      { name: "never", argv: ["sleep", "1000"], ready: { file: join(dir, "nope"), timeout_ms: 400 }, restart: "never" },
    ]);
    await waitFor(() => run.log().includes("service started service=after"), 20_000, "the dependent to start");
    const log = run.log();
    const at = (re: RegExp) => log.search(re);
    for (const n of ["tcp", "web", "cmd", "file"]) expect(at(new RegExp(`service ready service=${n} `))).toBeLessThan(at(/service started service=after/));
    await waitFor(() => run.log().includes("service not ready within 400 ms; killing it"), 10_000, "the readiness timeout");
    await waitFor(async () => (await list()).find((r) => r.name === "never")?.state === "exited", 10_000, "never to stay down", { pollMs: 200 });
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);
});

describe("health and hooks", () => {
  test("failing health checks restart the service after `failures` in a row; counts in services; the lines name the probe (they named none)", async () => {
    const dir = tempDir();
    const ok = join(dir, "healthy");
    writeFileSync(ok, "");
    const { run, list } = bootServices(dir, [{ name: "svc", argv: ["sleep", "1000"], restart: "always", backoff_initial_ms: 50, health: { probe: { file: ok }, interval_ms: 100, timeout_ms: 500, failures: 3 } }]);
    await waitFor(() => run.log().includes("control socket listening"), 15_000, "control socket");
    await waitFor(async () => ((await list())[0]?.health?.checks ?? 0) >= 2, 10_000, "health checks to run", { pollMs: 200 });
    rmSync(ok);
    await waitFor(() => run.log().includes(`health check failed 3 times in a row (file ${ok}); killing it`), 10_000, "the health kill");
    expect(run.log()).toContain(`WARN supervisor: health check failed service=svc probe="file ${ok}" failures=1 limit=3`);
    await waitFor(async () => ((await list())[0]?.restarts ?? 0) >= 1, 10_000, "the restart", { pollMs: 200 });
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);

  test("pre_start runs before the service and a failing one keeps it from starting; post_stop runs after it stopped", async () => {
    const dir = tempDir();
    const events = join(dir, "events");
    const { run } = bootServices(dir, [
      { name: "good", argv: ["sh", "-c", `echo main >> ${events}; exec sleep 1000`], pre_start: { argv: ["sh", "-c", `echo pre >> ${events}`] }, post_stop: { argv: ["sh", "-c", `echo post >> ${events}`], timeout_ms: 5000 } },
      { name: "bad", argv: ["sh", "-c", `echo bad-main >> ${events}; exec sleep 1000`], pre_start: { argv: ["sh", "-c", "exit 3"] }, restart: "never" },
    ]);
    await waitFor(() => read(events).includes("main") && run.log().includes("service could not start"), 15_000, "both services handled");
    expect(run.log()).toMatch(/service could not start service=bad error="pre_start exited with status 3"/);
    await runShippedAsync(["stop", "good", "--socket", join(dir, "run", "control")]);
    await waitFor(() => read(events).includes("post"), 10_000, "post_stop");
    expect(lines(events)).toEqual(["pre", "main", "post"]);
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);

  test("a command that cannot start was logged twice (spawn failed, could not start); a failing pre_start retried with back-off never said why: each attempt says why, once", async () => {
    const dir = tempDir();
    const { run } = bootServices(dir, [
      { name: "missing", argv: [join(dir, "no-such-program")], restart: "never" },
      { name: "retried", argv: ["sleep", "1000"], pre_start: { argv: ["sh", "-c", "exit 3"] }, restart: "on-failure", backoff_initial_ms: 50 },
    ]);
    const lines = (service: string) => run.log().split("\n").filter((l) => l.includes(`service=${service} `) && l.includes("ERROR"));
    await waitFor(() => lines("retried").length >= 2 && lines("missing").length >= 1, 15_000, "a failed start of each, two of the retried one");
    expect(lines("missing")).toEqual([expect.stringContaining(`service could not start service=missing error="${join(dir, "no-such-program")}: command not found (ENOENT)"`)]);
    for (const l of lines("retried")) expect(l).toContain('service could not start service=retried error="pre_start exited with status 3"');
    expect(run.log()).not.toContain("spawn failed");
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);
});
