// Control socket access: a control_gid member could do everything root could (re-exec, power off,
// mutate); a re-exec PATH was run (`PATH --version`, then exec) whoever owned or could write it;
// supplementary groups were read from /proc/PID/status after the connection (a pid outside the
// init's PID namespace reads as 0, and a peer could change its groups, or exit and have its pid
// reused, between connect and that read).
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { createSystemGroup, createSystemUser } from "../harness/system-user.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { exe, killLeftovers, start, tempDir, waitFor, writeJson, type Run } from "../pid1/harness.ts";
import { procState } from "../harness/proc-stat.ts";

afterEach(killLeftovers);

const tag = process.pid % 100000;
const user = `vbfc-${tag}`;
const group = `vbfcg-${tag}`;
let uid = -1;
let gid = -1;
/** The control_gid of every init here; the user is not in it in /etc/group: setpriv gives it. */
let ctlGid = -1;

let cleanup: (() => void)[] = [];

beforeAll(() => {
  const g = createSystemGroup(group);
  const u = createSystemUser(user);
  cleanup = [u.remove, g.remove];
  ({ uid, gid } = u);
  ctlGid = g.gid;
  expect(ctlGid).not.toBe(gid);
});

afterAll(() => {
  for (const c of cleanup) c();
});

/**
 * The client, as the throwaway user: connects, then (when CHANGE is not "-") replaces its
 * supplementary groups with CHANGE (it holds CAP_SETGID for that, nothing else), sends every
 * request, says "sent groups=..." and prints one response line per request (fewer when the server
 * closes the connection).
 */
const CLIENT = `import os, socket, sys
path, change, *reqs = sys.argv[1:]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
if change != "-":
    os.setgroups([int(g) for g in change.split(",") if g])
for r in reqs:
    s.sendall(r.encode() + b"\\n")
print("sent groups=" + ",".join(map(str, os.getgroups())), flush=True)
f = s.makefile("r")
for _ in reqs:
    line = f.readline()
    if not line:
        break
    print(line.rstrip("\\n"), flush=True)
`;

/** A directory everyone can read (the client script lives there). */
function openDir(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  return dir;
}

interface Client {
  /** Resolves once the client has connected, changed its groups and sent its requests; the groups it has then. */
  sent: Promise<string>;
  /** Every response line, once the client is done. */
  responses: Promise<Array<{ id: unknown; ok: boolean; result?: unknown; error?: { code: string; message: string } }>>;
}

/** Runs CLIENT as the user with supplementary `groups`; `change`: the groups it switches to after connecting. */
function client(dir: string, sock: string, groups: number[], requests: object[], change: number[] | null = null): Client {
  const script = join(dir, "client.py");
  if (!existsSync(script)) writeFileSync(script, CLIENT, { mode: 0o644 });
  const groupArgs = groups.length > 0 ? [`--groups=${groups.join(",")}`] : ["--clear-groups"];
  const capArgs = change ? ["--inh-caps=+setgid", "--ambient-caps=+setgid"] : [];
  const p = Bun.spawn(
    ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, ...groupArgs, ...capArgs, "--", "/usr/bin/python3", script, sock, change ? change.join(",") : "-", ...requests.map((r) => JSON.stringify(r))],
    { stdout: "pipe", stderr: "pipe", env: { HOME: "/", PATH: "/usr/bin:/bin" } },
  );
  const timer = setTimeout(() => p.kill(9), 30_000);
  let out = "";
  let err = "";
  const sent = Promise.withResolvers<string>();
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of p.stdout) {
      out += dec.decode(chunk, { stream: true });
      const m = /^sent groups=(.*)$/m.exec(out);
      if (m) sent.resolve(m[1]!);
    }
    err = await new Response(p.stderr).text();
    await p.exited;
    clearTimeout(timer);
    if (!/^sent groups=/m.test(out)) sent.reject(new Error(`client did not send (exit ${p.exitCode}): ${err}`));
    if (p.exitCode !== 0) throw new Error(`client exit ${p.exitCode}: ${err}\n${out}`);
    return out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
  })();
  done.catch(() => {});
  return { sent: sent.promise, responses: done };
}

/** Boots the init with control_gid; waits for its socket and first beat. */
async function bootInit(dir: string, pid1: boolean): Promise<{ run: Run; init: number; sock: string }> {
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    heartbeat_ms: 50,
    heartbeat_log_every: 0,
    control_gid: ctlGid,
    services: [{ name: "svc", argv: ["sleep", "1000"] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1 });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening") && /service started service=svc/.test(run.log()), 30_000, "the init's control socket and service");
  return { run, init, sock };
}

const statusOf = (sock: string) => JSON.parse(runShipped(["status", "--json", "--socket", sock]).stdout) as { generation: number; services: Record<string, number> };

test("as PID 1, a control_gid member (one of 40 supplementary groups: more than SO_PEERGROUPS' first buffer) gets status, services and stats but is refused reexec, poweroff, reboot, mutate, checkpoint and stop, each naming why; the init carries on", async () => {
  const dir = openDir();
  // 39 other groups and control_gid: the init's first getsockopt (32 gids) fails with ERANGE, the second is sized by it.
  const groups = [...Array.from({ length: 39 }, (_, i) => 60_000 + i), ctlGid];
  const { run, init, sock } = await bootInit(dir, true);
  const allowed = [{ op: "ping" }, { op: "status" }, { op: "services" }, { op: "stats" }];
  const refused = [
    { op: "reexec" },
    { op: "reexec", path: exe },
    { op: "poweroff" },
    { op: "reboot" },
    { op: "mutate", tensor: "pixel.w", offset: 0, values: [1], confidence: 0.9 },
    { op: "checkpoint" },
    { op: "stop", name: "svc" },
  ];
  const c = client(dir, sock, groups, [...allowed, ...refused].map((r, i) => ({ id: i, ...r })));
  expect((await c.sent).split(",").map(Number).sort()).toEqual([...groups].sort());
  const res = await c.responses;
  expect(res.map((r) => r.id)).toEqual([...allowed, ...refused].map((_, i) => i)); // one connection, every request answered in order
  for (const r of res.slice(0, allowed.length)) expect({ id: r.id, ok: r.ok, error: r.error }).toEqual({ id: r.id, ok: true, error: undefined });
  expect((res[1]!.result as { pid: number }).pid).toBe(1);
  for (const [i, r] of res.slice(allowed.length).entries()) {
    const op = refused[i]!.op;
    expect({ op, ok: r.ok, code: r.error?.code }).toEqual({ op, ok: false, code: "permission_denied" });
    expect(r.error!.message).toContain(op === "reexec" ? "forbidden: reexec needs uid 0" : `forbidden: ${op} needs uid 0`);
    expect(r.error!.message).toContain(`uid ${uid} is admitted as a member of the control group`);
  }
  // Nothing of it happened: same image (generation 0), the service still runs, the init still beats.
  const s = statusOf(sock);
  expect(s.generation).toBe(0);
  expect(s.services).toEqual({ running: 1 });
  expect(run.log()).not.toMatch(/re-exec requested|poweroff requested|reboot requested|stop requested/);
  expect(run.log()).toContain(`WARN control: control request refused op=reexec uid=${uid} role=member`);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 90_000);

test("as PID 1, reexec to a world-writable file, a file owned by another user, or a root-owned file in a directory another user owns is refused naming the check, and the file never ran; a safe copy of the same script is run", async () => {
  const dir = tempDir();
  const { run, init, sock } = await bootInit(dir, true);
  const marker = join(dir, "ran");
  const script = `#!/bin/sh\necho "$0 $*" >> ${marker}\nexec ${exe} "$@"\n`;
  const candidate = (sub: string, mode: number, owner: number, dirOwner = 0): string => {
    const d = join(dir, sub);
    mkdirSync(d, { mode: 0o755 });
    chownSync(d, dirOwner, dirOwner === 0 ? 0 : gid);
    const p = join(d, "vector-boot");
    writeFileSync(p, script);
    chmodSync(p, mode);
    chownSync(p, owner, owner === 0 ? 0 : gid);
    return p;
  };
  const cases = [
    { path: candidate("world-writable", 0o777, 0), says: "mode 0777 is writable by group or others" },
    { path: candidate("group-writable", 0o775, 0), says: "mode 0775 is writable by group or others" },
    { path: candidate("user-owned", 0o755, uid), says: `owned by uid ${uid}, not 0 (root)` },
    { path: candidate("user-dir", 0o755, 0, uid), says: `directory ${join(dir, "user-dir")} is owned by uid ${uid}` },
  ];
  for (const c of cases) {
    const r = runShipped(["reexec", c.path, "--socket", sock, "--timeout", "10000"]);
    expect({ path: c.path, code: r.code }).toEqual({ path: c.path, code: 71 });
    expect(r.stderr).toContain("permission_denied");
    expect(r.stderr).toContain(c.says);
    expect(existsSync(marker)).toBe(false); // not even `--version` ran it
  }
  expect(statusOf(sock).generation).toBe(0);
  // The same script where only root can have put it: preflight and exec run it (so "never ran" above is meaningful).
  const safe = candidate("safe", 0o755, 0);
  const ok = runShipped(["reexec", safe, "--socket", sock, "--timeout", "30000"]);
  expect({ code: ok.code, err: ok.stderr }).toMatchObject({ code: 0 });
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec into the safe copy");
  expect(readFileSync(marker, "utf8")).toMatch(new RegExp(`^${safe} --version\\n${safe} boot `));
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);

/**
 * Stops the init (SIGSTOP), lets the client connect (the connection waits in the listen backlog),
 * change its groups and send, then lets the init go on: it accepts only after the change.
 */
async function connectThenChangeGroups(dir: string, init: number, sock: string, groups: number[], change: number[], requests: object[]): Promise<Client> {
  process.kill(init, "SIGSTOP");
  try {
    await waitFor(() => procState(init) === "T", 5_000, "the init stopped");
    const c = client(dir, sock, groups, requests, change);
    expect(await c.sent).toBe(change.join(","));
    return c;
  } finally {
    process.kill(init, "SIGCONT");
  }
}

test("groups are those of connect time (SO_PEERGROUPS): a member that drops control_gid after connecting, before the init accepts, keeps the member's access", async () => {
  const dir = openDir();
  const { run, init, sock } = await bootInit(dir, false);
  const c = await connectThenChangeGroups(dir, init, sock, [ctlGid], [], [{ id: 1, op: "status" }, { id: 2, op: "reexec" }]);
  const res = await c.responses;
  expect(res[0]).toMatchObject({ id: 1, ok: true });
  expect(res[1]).toMatchObject({ id: 2, ok: false, error: { code: "permission_denied" } });
  expect(res[1]!.error!.message).toContain("forbidden: reexec needs uid 0");
  expect(run.log()).not.toContain("control connection refused");
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 90_000);

test("groups are those of connect time (SO_PEERGROUPS): a non-member that gains control_gid after connecting, before the init accepts, is refused", async () => {
  const dir = openDir();
  const { run, init, sock } = await bootInit(dir, false);
  // Open the file modes (root may): the non-member reaches the socket, only the credential check stands.
  chmodSync(join(dir, "run"), 0o755);
  chmodSync(sock, 0o666);
  const c = await connectThenChangeGroups(dir, init, sock, [], [ctlGid], [{ id: 1, op: "status" }]);
  const res = await c.responses;
  expect(res).toHaveLength(1);
  expect(res[0]).toMatchObject({ id: null, ok: false, error: { code: "permission_denied" } });
  expect(res[0]!.error!.message).toContain(`uid ${uid} (gid ${gid}, groups none,`);
  expect(res[0]!.error!.message).toContain(`may not use the control socket`);
  expect(run.log()).toContain(`WARN control: control connection refused uid=${uid}`);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 90_000);

test("run_dir naming a shared directory (/run, /tmp) made PID 1 chmod it to 0700 for its sockets: an existing directory holding anything but sockets is refused and left as it was", async () => {
  const dir = tempDir();
  const shared = join(dir, "shared");
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  writeFileSync(join(shared, "someone-elses-file"), "x");
  const r = await start(["boot", ...bootArgs(), "--set", `run_dir=${shared}`, "--set", "shutdown_after=0.5"], { pid1: true }).result(20_000);
  expect(r.stderr).toContain(`directory ${shared} already holds someone-elses-file, which vector-boot did not put there`);
  expect(r.stderr).not.toContain("verify --repair"); // a config problem, not a damaged journal
  expect(r.stderr).toContain("first heartbeat"); // PID 1 goes on without the sockets
  expect(statSync(shared).mode & 0o7777).toBe(0o1777);
  expect(existsSync(join(shared, "control"))).toBe(false);
  expect(existsSync(join(shared, "evolution.sock"))).toBe(false);
}, 40_000);
