// Privileges: a service given only a uid ran with the init's gid 0, and PID 1 kept every capability it
// was started with in its effective and permitted sets (only its bounding set was cut, and only on one
// thread). Each test runs the shipped executable, as PID 1 of a PID namespace where that matters.
import { afterEach, describe, expect, test } from "bun:test";
import { controlRequest } from "../../src/control/client.ts";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { read } from "../pid1/file-text.ts";
import { childrenOf, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

/** One field of /proc/<pid>/status (tabs and runs of spaces as single spaces). */
const statusField = (path: string, key: string) => (new RegExp(`^${key}:[ \\t]*(.*)$`, "m").exec(read(path))?.[1] ?? "").replace(/\s+/g, " ").trim();
const capOf = (path: string, key: string) => BigInt(`0x${statusField(path, key) || "0"}`);

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

const vb = (...args: string[]) => runShippedAsync(args);

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

/** The init's documented own needs (README "Privileges"; src/boot/privileges.ts). */
const CAP = { CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23, SYS_TIME: 25 } as const;
// CAP_SYS_NICE: the beat's real-time window (heartbeat.beat_fifo_priority, default 1).
const documented = [CAP.DAC_READ_SEARCH, CAP.KILL, CAP.SETGID, CAP.SETUID, CAP.SETPCAP, CAP.SYS_ADMIN, CAP.SYS_BOOT, CAP.SYS_NICE];
const maskOf = (bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n);
/**
 * CAP_DAC_OVERRIDE when the log says the services' cgroup directory sits in a cgroup of mode 0555 (a
 * host's root cgroup, under unshare --pid): removing it at shutdown takes it (src/boot/privileges.ts).
 */
const forCgroupRemoval = (log: string): number[] => {
  const dir = /services get cgroups dir=(\S+)/.exec(log)?.[1];
  return dir !== undefined && (statSync(dirname(dir)).mode & 0o200) === 0 ? [CAP.DAC_OVERRIDE] : [];
};
/** What the namespace's init started with: this (root) test process's bounding set. */
const startedWith = capOf("/proc/self/status", "CapBnd");

/** Every thread of `init`: effective, permitted and bounding sets equal `want`, inheritable and ambient empty. */
function expectEveryThread(init: number, want: bigint, when: string): void {
  const tasks = readdirSync(`/proc/${init}/task`);
  expect(tasks.length).toBeGreaterThan(1); // Bun's own threads (JIT, GC, allocator) and the worker pools
  const hex = (v: bigint) => v.toString(16).padStart(16, "0");
  const got = tasks.map((t) => {
    const p = `/proc/${init}/task/${t}/status`;
    return `${when} ${statusField(p, "Name")}: eff=${hex(capOf(p, "CapEff"))} prm=${hex(capOf(p, "CapPrm"))} bnd=${hex(capOf(p, "CapBnd"))} inh=${hex(capOf(p, "CapInh"))} amb=${hex(capOf(p, "CapAmb"))}`;
  });
  const wanted = tasks.map((t, i) => `${when} ${got[i]!.slice(when.length + 1).split(":")[0]}: eff=${hex(want)} prm=${hex(want)} bnd=${hex(want)} inh=${hex(0n)} amb=${hex(0n)}`);
  expect(got).toEqual(wanted);
}

describe("PID 1's own capabilities", () => {
  test("kept every capability in its effective and permitted sets: after boot every thread holds exactly the documented set plus the services' capabilities; it still restarts and stops services of another user, re-execs (SIGHUP), unmounts and powers off", async () => {
    const dir = tempDir();
    const sock = join(dir, "run", "control");
    // A home only its user may enter: the child chdirs there before it takes the uid (CAP_DAC_READ_SEARCH).
    const home = join(dir, "home");
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, 65534, passwdGid(65534));
    chmodSync(home, 0o700);
    const mnt = join(dir, "mnt");
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      heartbeat_ms: 20,
      heartbeat_log_every: 1,
      mounts: [{ source: "vb-priv", target: mnt, fstype: "tmpfs" }],
      services: [
        { name: "clock", argv: ["sleep", "7010"], capabilities: ["CAP_SYS_TIME"] },
        { name: "nobody", argv: ["sleep", "7011"], uid: 65534, grace_ms: 60_000 },
        { name: "home", argv: ["sleep", "7012"], uid: 65534, cwd: home },
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    const init = await run.initPid();
    const dump = (e: unknown) => {
      console.error(run.log().split("\n").slice(-40).join("\n"));
      throw e;
    };
    await waitFor(() => run.log().includes("capabilities dropped from the bounding set") && run.log().includes("control socket listening") && [...run.log().matchAll(/: beat n=\d+/g)].length >= 2, 30_000, "privileges dropped").catch(dump);
    const want = maskOf([...documented, CAP.SYS_TIME, ...forCgroupRemoval(run.log())]) & startedWith;
    expect(run.log()).not.toMatch(/could not drop capabilities|kept their capabilities/);
    expectEveryThread(init, want, "after boot");
    // What CAP_SYS_NICE is kept for: the beats after the drop are real-time in their window.
    const stats = (await controlRequest({ op: "stats" }, { path: sock })) as { heartbeat: { wake: { beatFifo: string | null } } };
    expect(stats.heartbeat.wake.beatFifo).toBe("SCHED_FIFO 1");

    // A service of another user started after the drop: fork, chdir into its 0700 home, setgid, setuid, capset, exec.
    const homePid = childRunning(init, ["sleep", "7012"]);
    expect(homePid).not.toBeNull();
    expect((await vb("restart", "home", "--socket", sock)).code).toBe(0);
    await waitFor(() => {
      const p = childRunning(init, ["sleep", "7012"]);
      return p !== null && p !== homePid;
    }, 20_000, "home restarted after the drop").catch(dump);
    expect(run.log()).not.toContain("service could not start");
    // Stopping a service of another user needs CAP_KILL (its grace is 60 s: only the stop signal can end it in time).
    const nobodyPid = childRunning(init, ["sleep", "7011"]);
    expect(nobodyPid).not.toBeNull();
    expect((await vb("stop", "nobody", "--socket", sock)).code).toBe(0);
    await waitFor(() => childRunning(init, ["sleep", "7011"]) === null, 10_000, "nobody stopped by its stop signal").catch(dump);
    expect(run.log()).toMatch(/service stopped service=nobody/);

    // Live re-exec: the new image starts from the reduced bounding set and drops again.
    const clockPid = childRunning(init, ["sleep", "7010"]);
    process.kill(init, "SIGHUP");
    const marker = "resuming after re-exec generation=1 ";
    await waitFor(() => run.log().includes(marker), 30_000, "re-exec").catch(dump);
    const since = () => run.log().slice(run.log().indexOf(marker));
    await waitFor(() => since().includes("capabilities dropped from the bounding set") && since().includes("control socket listening") && [...since().matchAll(/: beat n=\d+/g)].length >= 2, 30_000, "the new image up").catch(dump);
    expect(since()).toMatch(new RegExp(`service adopted service=clock pid=\\d+`));
    expect(childRunning(init, ["sleep", "7010"])).toBe(clockPid);
    expectEveryThread(init, want, "after re-exec");
    expect((await vb("start", "nobody", "--socket", sock)).code).toBe(0);
    await waitFor(() => childRunning(init, ["sleep", "7011"]) !== null, 20_000, "nobody started by the new image").catch(dump);

    process.kill(init, "SIGTERM");
    const r = await run.result(30_000);
    const shutdown = r.stderr.slice(r.stderr.indexOf("phase shutdown"));
    for (const s of ["clock", "nobody", "home"]) expect(shutdown).toMatch(new RegExp(`service stopped service=${s}`));
    expect(shutdown).not.toContain("sending SIGKILL");
    expect(shutdown).toContain(`unmounted target=${mnt}`);
    expect(shutdown).toContain("poweroff now");
    expect(r.code).toBe(130); // reboot(2) ended the namespace (its init died of SIGINT, as poweroff does there)
  }, 120_000);

  test("with control_gid set it also keeps CAP_CHOWN, which a re-exec needs to hand the new control socket to that group", async () => {
    const dir = tempDir();
    const sock = join(dir, "run", "control");
    const controlGid = 4321;
    const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 20, heartbeat_log_every: 1, control_gid: controlGid });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    const init = await run.initPid();
    const dump = (e: unknown) => {
      console.error(run.log().split("\n").slice(-40).join("\n"));
      throw e;
    };
    await waitFor(() => run.log().includes("capabilities dropped from the bounding set") && [...run.log().matchAll(/: beat n=\d+/g)].length >= 2, 30_000, "privileges dropped").catch(dump);
    const want = maskOf([...documented, CAP.CHOWN]) & startedWith;
    expectEveryThread(init, want, "after boot");
    expect(statSync(sock).gid).toBe(controlGid);
    process.kill(init, "SIGHUP");
    const marker = "resuming after re-exec generation=1 ";
    await waitFor(() => run.log().includes(marker), 30_000, "re-exec").catch(dump);
    const since = () => run.log().slice(run.log().indexOf(marker));
    await waitFor(() => since().includes("capabilities dropped from the bounding set") && [...since().matchAll(/: beat n=\d+/g)].length >= 2, 30_000, "the new image up").catch(dump);
    expect(since()).toMatch(/control socket listening .*allow_gid=4321/);
    expect(statSync(sock).gid).toBe(controlGid); // the new image's socket (the line above is its listen)
    expectEveryThread(init, want, "after re-exec");
    expect((await vb("status", "--socket", sock)).code).toBe(0);
    process.kill(init, "SIGTERM");
    const r = await run.result(30_000);
    expect(r.stderr).toContain("poweroff now");
  }, 90_000);
});
