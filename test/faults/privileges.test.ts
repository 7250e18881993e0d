// Privileges: a service given only a uid ran with the init's gid 0. Each test runs the shipped
// executable, as PID 1 of a PID namespace where that matters.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { childrenOf, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");
/** One field of /proc/<pid>/status (tabs and runs of spaces as single spaces). */
const statusField = (path: string, key: string) => (new RegExp(`^${key}:[ \\t]*(.*)$`, "m").exec(read(path))?.[1] ?? "").replace(/\s+/g, " ").trim();

/** The process among `init`'s children whose command line is exactly `argv`. */
function childRunning(init: number, argv: string[]): number | null {
  for (const c of childrenOf(init)) if (read(`/proc/${c}/cmdline`) === `${argv.join("\0")}\0`) return c;
  return null;
}

/** A uid /etc/passwd does not know (the init reads the same file: the namespaces share /etc). */
function uidNotInPasswd(): number {
  const known = new Set(read("/etc/passwd").split("\n").map((l) => l.split(":")[2]));
  let uid = 4242;
  while (known.has(String(uid))) uid++;
  return uid;
}

/** Primary gid of `uid` in /etc/passwd (the test's own reading). */
function passwdGid(uid: number): number {
  const line = read("/etc/passwd").split("\n").find((l) => l.split(":")[2] === String(uid));
  if (!line) throw new Error(`uid ${uid} is not in /etc/passwd on this machine`);
  return Number(line.split(":")[3]);
}

describe("a service with a uid and no gid", () => {
  test("ran with gid 0 (the init's own): it now runs with the user's primary group from /etc/passwd and no supplementary groups, as PID 1 and as a subreaper", async () => {
    const gid = passwdGid(65534);
    expect(gid).not.toBe(0);
    for (const pid1 of [true, false]) {
      const dir = tempDir();
      const argv = ["sleep", pid1 ? "7001" : "7002"];
      const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [{ name: "nobody", argv, uid: 65534 }] });
      const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1 });
      const init = await run.initPid();
      let pid: number | null = null;
      await waitFor(() => (pid = childRunning(init, argv)) !== null, 20_000, `the service (pid1=${pid1})`);
      const status = `/proc/${pid}/status`;
      expect({ pid1, uid: statusField(status, "Uid"), gid: statusField(status, "Gid"), groups: statusField(status, "Groups") }).toEqual({ pid1, uid: "65534 65534 65534 65534", gid: `${gid} ${gid} ${gid} ${gid}`, groups: "" });
      await waitFor(() => /service started service=nobody pid=\d+/.test(run.log()), 10_000, "the start logged");
      process.kill(init, "SIGTERM");
      await run.result(20_000);
    }
  }, 60_000);

  test("whose uid /etc/passwd does not know is refused outside PID 1: exit 78 naming services[i].gid", async () => {
    const dir = tempDir();
    const uid = uidNotInPasswd();
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      services: [
        { name: "fine", argv: ["sleep", "7003"] },
        { name: "ghost", argv: ["sleep", "7004"], uid },
      ],
    });
    const r = await start(["boot", ...bootArgs(), "--config", cfg]).result(20_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${cfg}: services[1].gid`);
    expect(r.stderr).toContain(`uid ${uid} has no entry in /etc/passwd`);
    expect(r.stderr).not.toContain("service started");
  }, 40_000);

  test("whose uid /etc/passwd does not know never runs as PID 1 (not as gid 0 either): an error line says why, its dependents stay down, the rest boots", async () => {
    const dir = tempDir();
    const uid = uidNotInPasswd();
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      services: [
        { name: "fine", argv: ["sleep", "7005"] },
        { name: "ghost", argv: ["sleep", "7006"], uid },
        { name: "after-ghost", argv: ["sleep", "7007"], depends_on: ["ghost"] },
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    const init = await run.initPid();
    await waitFor(() => run.log().includes("phase heartbeat"), 20_000, "boot up");
    const log = run.log();
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(log).toMatch(new RegExp(`config: .*field="${esc(`${cfg}: services[1].gid`)}" problem="service ghost is not started: uid ${uid} has no entry in /etc/passwd`));
    expect(log).toMatch(new RegExp(`config: .*field="${esc(`${cfg}: services[2].depends_on[0]`)}" problem="service after-ghost is not started: it depends on ghost`));
    expect(log).toMatch(/service started service=fine pid=\d+/);
    expect(log).not.toMatch(/service started service=(ghost|after-ghost)/);
    expect(childRunning(init, ["sleep", "7005"])).not.toBeNull();
    expect(childRunning(init, ["sleep", "7006"])).toBeNull();
    expect(childRunning(init, ["sleep", "7007"])).toBeNull();
    process.kill(init, "SIGTERM");
    const r = await run.result(20_000);
    expect(r.stderr).toContain("poweroff now");
    expect(r.stderr).not.toMatch(/service started service=(ghost|after-ghost)/);
  }, 40_000);
});
