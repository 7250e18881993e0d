// A non-root user can neither reach the evolution session socket nor open the channel memory of a
// running init: each of the init's own protections is tested where it alone stands in the way
// (the directory and socket modes it sets, the run directory it refuses, the descriptor it keeps
// from its services, the memfd's mode), not the kernel's ptrace check on /proc/<pid>/fd.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { createSystemUser } from "../harness/system-user.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

const user = `vbevo-${process.pid % 100000}`;
let uid = -1;
let gid = -1;
let removeUser = () => {};
beforeAll(() => {
  const u = createSystemUser(user);
  ({ uid, gid } = u);
  removeUser = u.remove;
});
afterAll(() => removeUser());

/** Runs ARGV as the non-root user (no groups; `caps`: capabilities it keeps, e.g. "sys_ptrace"). */
async function asUser(argv: string[], caps: string[] = []) {
  const capArgs = caps.length > 0 ? [`--inh-caps=${caps.map((c) => `+${c}`).join(",")}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(",")}`] : [];
  const p = Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", ...capArgs, "env", "HOME=/", ...argv], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill(9), 20_000);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out: out.trim(), err };
}

/** Python (standard library only) that tries to connect to a Unix socket: CONNECTED or REFUSED <errno>. */
const tryConnect = `
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("CONNECTED")
except OSError as e:
    print("REFUSED", e.errno)
`;
const EACCES = 13;

const mode = (p: string) => statSync(p).mode & 0o7777;
const bootUp = (run: ReturnType<typeof start>) => waitFor(() => run.log().includes("phase heartbeat"), 30_000, "boot up");

test("the init tightens a world-open run directory to 0700 and makes the evolution socket 0600 (even under umask 000); each mode alone refuses a non-root user", async () => {
  const dir = tempDir();
  chmodSync(dir, 0o755); // the user can walk to run/
  const runDir = join(dir, "run");
  mkdirSync(runDir);
  chmodSync(runDir, 0o777); // left world-open by someone: the init must not trust it as it is
  const old = process.umask(0); // nothing but the init's own chmods protects what it creates
  let run: ReturnType<typeof start>;
  try {
    run = start(["boot", "--set", `run_dir=${runDir}`, "--set", `state_dir=${join(dir, "state")}`]);
  } finally {
    process.umask(old);
  }
  await bootUp(run);
  const sock = join(runDir, "evolution.sock");
  const d = lstatSync(runDir);
  expect({ dir: d.isDirectory(), uid: d.uid, mode: mode(runDir).toString(8) }).toEqual({ dir: true, uid: 0, mode: "700" });
  const s = lstatSync(sock);
  expect({ socket: s.isSocket(), uid: s.uid, mode: mode(sock).toString(8) }).toEqual({ socket: true, uid: 0, mode: "600" });

  // As the init left them.
  expect((await asUser(["python3", "-c", tryConnect, sock])).out).toBe(`REFUSED ${EACCES}`);
  // The directory opened up: the socket's 0600 alone refuses.
  chmodSync(runDir, 0o755);
  expect((await asUser(["python3", "-c", tryConnect, sock])).out).toBe(`REFUSED ${EACCES}`);
  // The socket opened up: the directory's 0700 alone refuses.
  chmodSync(runDir, 0o700);
  chmodSync(sock, 0o666);
  expect((await asUser(["python3", "-c", tryConnect, sock])).out).toBe(`REFUSED ${EACCES}`);
  // Both opened up: the user reaches the socket, so the refusals above came from those two modes.
  chmodSync(runDir, 0o755);
  expect((await asUser(["python3", "-c", tryConnect, sock])).out).toBe("CONNECTED");

  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 120_000);

test("the init refuses a run directory another user owns, or a symlink, naming it as a config problem (exit 78, no journal repair hint, no socket made)", async () => {
  for (const kind of ["owned by the user", "a symlink"]) {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const runDir = join(dir, "run");
    if (kind === "owned by the user") {
      mkdirSync(runDir, { mode: 0o700 });
      chownSync(runDir, uid, gid); // the user could replace the socket in it
    } else {
      mkdirSync(join(dir, "elsewhere"), { mode: 0o700 });
      symlinkSync(join(dir, "elsewhere"), runDir);
    }
    const r = await start(["boot", "--set", `run_dir=${runDir}`, "--set", `state_dir=${join(dir, "state")}`]).result(60_000);
    expect({ kind, code: r.code }).toEqual({ kind, code: 78 });
    // It is not a damaged journal: no `journal verify --repair` advice.
    expect(r.stderr).not.toContain("verify --repair");
    expect(r.stderr).toContain(`cannot use evolution run directory ${runDir}`);
    // The reason itself (it used to be one generic "not a directory owned by this user").
    expect(r.stderr).toContain(kind === "a symlink" ? `${runDir} is not a directory (a symlink?)` : `directory ${runDir} belongs to uid ${uid}`);
    expect(existsSync(join(runDir, "evolution.sock"))).toBe(false);
    expect(existsSync(join(dir, "elsewhere/evolution.sock"))).toBe(false);
  }
}, 180_000);

test("a service running as the non-root user inherits no descriptor of the channel memfd and cannot connect to the evolution socket", async () => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const out = join(dir, "out");
  mkdirSync(out, { mode: 0o700 });
  chownSync(out, uid, gid);
  const script = join(dir, "connect.py");
  await Bun.write(script, tryConnect);
  chmodSync(script, 0o644);
  const sock = join(dir, "run/evolution.sock");
  // The service lists the targets of every descriptor it was started with, then tries the socket.
  const peek = `for f in /proc/$$/fd/*; do readlink "$f"; done > ${out}/fds; python3 ${script} ${sock} > ${out}/connect; echo done > ${out}/done; exec sleep 600`;
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "peek", argv: ["sh", "-c", peek], uid, gid, restart: "never" }],
  });
  const run = start(["boot", "--config", cfg]);
  await bootUp(run);
  await waitFor(() => existsSync(join(out, "done")), 30_000, "the service's report");
  // The init itself holds the memfd (the thing the service must not get).
  const initFds = readdirSync(`/proc/${run.proc.pid}/fd`).map((fd) => readlinkSync(`/proc/${run.proc.pid}/fd/${fd}`));
  expect(initFds.filter((l) => l.startsWith("/memfd:vector-boot-evolution")).length).toBe(1);
  const fds = readFileSync(join(out, "fds"), "utf8").trim().split("\n");
  expect(fds.length).toBeGreaterThanOrEqual(3); // the listing worked (stdin, stdout, stderr at least)
  expect(fds.filter((l) => l.includes("memfd:"))).toEqual([]);
  expect(readFileSync(join(out, "connect"), "utf8").trim()).toBe(`REFUSED ${EACCES}`);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 120_000);

test("the channel memfd has mode 0600 (DESIGN §6): a non-root user past the kernel's checks on /proc/<pid>/fd (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH) still cannot open it for writing", async () => {
  const dir = tempDir();
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`]);
  await bootUp(run);
  const pid = run.proc.pid;
  const fd = readdirSync(`/proc/${pid}/fd`).find((n) => readlinkSync(`/proc/${pid}/fd/${n}`).startsWith("/memfd:vector-boot-evolution"));
  expect(fd).toBeDefined();
  const path = `/proc/${pid}/fd/${fd}`;
  // The user holds CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (which lets it search the init's 0500
  // /proc/<pid>/fd and read files, never write them): the kernel lets it through to the link (it can
  // read it), so the memfd's own mode is all that is left between it and writing the channel memory.
  const probe = `
import os, sys
print("LINK", os.readlink(sys.argv[1]))
try:
    os.close(os.open(sys.argv[1], os.O_RDWR)); print("OPENED")
except OSError as e:
    print("REFUSED", e.errno)
`;
  const r = await asUser(["python3", "-c", probe, path], ["sys_ptrace", "dac_read_search"]);
  expect(r.err).toBe("");
  expect(r.out.split("\n")[0]).toStartWith("LINK /memfd:vector-boot-evolution");
  expect(r.out.split("\n")[1]).toBe(`REFUSED ${EACCES}`);
  const st = statSync(path);
  expect({ uid: st.uid, mode: (st.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: "600" });
  process.kill(pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 120_000);
