// A non-root user can neither reach the evolution session socket nor open the channel memory of a running init.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { chmodSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, root, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

const user = `vbevo-${process.pid % 100000}`;
let uid = -1;
let gid = -1;
const sh = (argv: string[]) => {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
};
beforeAll(() => {
  const r = sh(["useradd", "--system", "--no-create-home", user]);
  if (r.code !== 0) throw new Error(`useradd ${user} failed: ${r.err}`);
  uid = Number(sh(["id", "-u", user]).out.trim());
  gid = Number(sh(["id", "-g", user]).out.trim());
});
afterAll(() => void sh(["userdel", user]));

async function asUser(argv: string[]) {
  const p = Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "env", "HOME=/tmp", `PYTHONPATH=${join(root, "python")}`, ...argv], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill(9), 15_000);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out: out + err };
}

test("a non-root user is refused by the evolution socket's permissions and cannot open the memfd through /proc", async () => {
  const dir = tempDir();
  chmodSync(dir, 0o755); // the user can walk to run/, which the init makes 0700
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`]);
  await waitFor(() => run.log().includes("phase heartbeat"), 15_000, "boot up");
  const sock = join(dir, "run/evolution.sock");
  const r = await asUser(["python3", "-m", "vector_boot_evolution", "--socket", sock, "info"]);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("Permission denied");
  // The channel memory itself (a memfd of the init) is not reachable either.
  const fds = readdirSync(`/proc/${run.proc.pid}/fd`).filter((fd) => readlinkSync(`/proc/${run.proc.pid}/fd/${fd}`).startsWith("/memfd:vector-boot-evolution"));
  expect(fds.length).toBe(1);
  const m = await asUser(["python3", "-c", `open("/proc/${run.proc.pid}/fd/${fds[0]}", "rb")`]);
  expect(m.code).not.toBe(0);
  expect(m.out).toContain("Permission denied");
  process.kill(run.proc.pid, "SIGTERM");
  await run.result(15_000);
}, 60_000);
