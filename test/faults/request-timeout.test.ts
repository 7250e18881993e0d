// Control requests that fail without saying enough: a timed-out mutate (it may still be journaled: a blind retry applies it twice), a mutate to an instance without evolution.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

/**
 * Bytes that process `pid` wrote to its connected unix stream sockets other than stdin/out/err (Bun's
 * pipes are socket pairs) and that their peers have not read: `ss -x`'s Send-Q.
 */
function sendQueued(pid: number): number {
  const r = Bun.spawnSync(["ss", "-xnpH", "state", "connected"], { stdout: "pipe", stderr: "pipe" });
  let n = 0;
  for (const line of r.stdout.toString().split("\n")) {
    const f = line.trim().split(/\s+/); // u_str ESTAB Recv-Q Send-Q local port peer port users:((...))
    const fd = new RegExp(`pid=${pid},fd=(\\d+)\\)`).exec(line);
    if (f[0] === "u_str" && fd && Number(fd[1]) > 2) n += Number(f[3]) || 0;
  }
  return n;
}

/** A development init with its own run and state dirs (`--set` extras), once its control socket listens. */
async function bootDev(...sets: string[]) {
  const dir = tempDir();
  const run = start(["boot", ...bootArgs(), "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`, ...sets.flatMap((s) => ["--set", s])]);
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  return { run, init, sock: join(dir, "run", "control") };
}

test("a mutate that timed out said only ETIMEDOUT, and the stopped instance journaled it once it ran again; the error now says it may still be carried out (a read-only request's does not)", async () => {
  const { run, init, sock } = await bootDev("heartbeat_log_every=0");
  const durable = async () => (JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out) as { journal: { durableSeq: number } }).journal.durableSeq;
  const before = await durable();
  process.kill(init, "SIGSTOP"); // connections wait in the backlog, requests in the socket buffer
  try {
    const m = await runShippedAsync(["mutate", "pixel.0.weight", "0", "--values", "0.5", "--confidence", "0.9", "--timeout", "500", "--socket", sock]);
    expect(m.code).toBe(71);
    expect(m.err).toContain('"mutate" not answered within 500 ms; it was sent, so the instance may still carry it out (check before retrying');
    const s = await runShippedAsync(["status", "--timeout", "500", "--socket", sock]);
    expect(s.code).toBe(71);
    expect(s.err).toContain('"status" not answered within 500 ms: ETIMEDOUT');
    expect(s.err).not.toContain("may still carry it out");
  } finally {
    process.kill(init, "SIGCONT");
  }
  // And it does carry it out: the mutation the client gave up on is journaled.
  // Seen once in CI on a loaded host (not journaled within 30 s, not reproduced since): the init's
  // control and evolution lines go with the failure, to tell where the request went.
  let last = before;
  await waitFor(async () => (last = await durable()) === before + 1, 30_000, "the timed-out mutation journaled", { pollMs: 100 }).catch((e: Error) => {
    const lines = run.log().split("\n").filter((l) => /control|evolution|journal|ERROR|WARN/.test(l));
    throw new Error(`${e.message} (durableSeq ${last}, before ${before}); init log:\n${lines.slice(-40).join("\n")}`);
  });
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("requests a client sent before it hung up were dropped when the hang-up was seen before they began (a status, then a mutate, written while the init was stopped): every one is carried out", async () => {
  const { run, init, sock } = await bootDev("heartbeat_log_every=0");
  const durable = async () => (JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out) as { journal: { durableSeq: number } }).journal.durableSeq;
  const before = await durable();
  process.kill(init, "SIGSTOP");
  try {
    // Both lines in the socket, then a full close: the init sees the data, the end, then the hang-up
    // while the first request is being answered (the second waited behind it and was dropped).
    const { connect } = await import("node:net");
    await new Promise<void>((resolve, reject) => {
      const s = connect(sock, () => {
        s.end('{"id":1,"op":"status"}\n{"id":2,"op":"mutate","tensor":"pixel.0.weight","offset":1,"values":[0.25],"confidence":0.9}\n', () => {
          s.destroy();
          resolve();
        });
      });
      s.on("error", reject);
    });
  } finally {
    process.kill(init, "SIGCONT");
  }
  let last = before;
  await waitFor(async () => (last = await durable()) === before + 1, 30_000, "the mutate sent before the hang-up journaled", { pollMs: 100 }).catch((e: Error) => {
    throw new Error(`${e.message} (durableSeq ${last}, before ${before})`);
  });
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("mutate or checkpoint on an instance without evolution said only 'not supported by this instance'; it says evolution is disabled, and by what", async () => {
  const { run, init, sock } = await bootDev("evolution=0");
  const m = await runShippedAsync(["mutate", "pixel.0.weight", "0", "--values", "0.5", "--confidence", "0.9", "--socket", sock]);
  expect(m.code).toBe(64);
  expect(m.err).toContain('"mutate" is not supported by this instance: evolution is disabled (config evolution.enabled, or vector.evolution=0)');
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("a mutate whose instance died after it was sent said 'connect ... ECONNRESET', as if it had never been sent; it now says the connection was lost before the answer and that it may have been carried out", async () => {
  const { run, init, sock } = await bootDev("heartbeat_log_every=0");
  process.kill(init, "SIGSTOP");
  const client = spawnShipped(["mutate", "pixel.0.weight", "0", "--values", "0.5", "--confidence", "0.9", "--socket", sock]);
  const pending = Promise.all([client.exited, new Response(client.stderr).text()]).then(([code, err]) => ({ code, err }));
  // Once the request sits in the stopped instance's socket buffer (the client's connected socket has
  // bytes queued: its Send-Q), the instance is killed. The client is unshare's pid, exec'd in place.
  await waitFor(() => sendQueued(client.pid) > 0, 20_000, "the mutate request queued at the stopped instance", { pollMs: 50 });
  process.kill(init, "SIGKILL");
  const m = await pending;
  expect(m.code).toBe(71);
  expect(m.err).not.toContain("connect ");
  expect(m.err).toMatch(/before "mutate" was answered; it was sent, so the instance may still carry it out/);
  await run.result(30_000);
}, 60_000);
