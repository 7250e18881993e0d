// Services in cgroups of their own on the host (hybrid layout): placement before exec, cgroup.kill of escapees, missing controllers.
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Mount, cgroupOf } from "../../src/sys/cgroup.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { childrenOf, killLeftovers, pidsRunning, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

const mount = cgroup2Mount();

describe.skipIf(mount === null)("service cgroups (host)", () => {
  test("a daemon that double-forks out of its process group and ignores SIGTERM is gone after `stop` (cgroup.kill)", async () => {
    const dir = tempDir();
    const sock = join(dir, "run", "control");
    // A unique sleep length names the escapee among the host's processes.
    const unique = String(900_000 + (process.pid % 99_999));
    const script = join(dir, "daemonize.sh");
    writeFileSync(
      script,
      `cat /proc/self/cgroup > ${dir}/cgroup.txt
( setsid sh -c 'trap "" TERM; exec sleep ${unique}' & )
trap 'exit 0' TERM
while :; do sleep 0.05; done
`,
    );
    const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), pixel_test: false, services: [{ name: "forker", argv: ["sh", script], grace_ms: 400 }] });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    try {
      await waitFor(() => pidsRunning(["sleep", unique]).length === 1 && run.log().includes("control socket listening"), 15_000, "the double-forked daemon");
      // The service's first command already ran in the service's cgroup (joined before exec).
      expect(read(join(dir, "cgroup.txt"))).toMatch(/^0::\/vector-boot\.pidns-\d+\/forker$/m);
      const daemon = pidsRunning(["sleep", unique])[0]!;
      expect(readFileSync(`/proc/${daemon}/cgroup`, "utf8")).toMatch(/\/vector-boot\.pidns-\d+\/forker$/m);
      const list = JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out) as Array<{ cgroup: { path: string; pids: number; cpuUsec: number | null } | null }>;
      expect(list[0]!.cgroup!.path).toMatch(/\/vector-boot\.pidns-\d+\/forker$/);
      expect(list[0]!.cgroup!.pids).toBeGreaterThanOrEqual(2);
      expect(typeof list[0]!.cgroup!.cpuUsec).toBe("number");
      const stop = await runShippedAsync(["stop", "forker", "--socket", sock]);
      expect(stop.code).toBe(0);
      expect(pidsRunning(["sleep", unique])).toEqual([]);
      expect(run.log()).toContain("main process exited; waiting for the rest of its run (its cgroup, or its process group with cgroups off) service=forker");
      expect(run.log()).toMatch(/sending SIGKILL to what is left of its run service=forker/);
    } finally {
      for (const p of pidsRunning(["sleep", unique])) process.kill(p, "SIGKILL");
    }
    process.kill(await run.initPid(), "SIGTERM");
    const r = await run.result(15_000);
    expect(r.code).toBe(130); // power-off of a PID namespace: its init ends by SIGINT
  }, 40_000);

  test("a limit whose controller the host lacks gives one line naming the controller, and the service still runs (subreaper, own cgroup)", async () => {
    const dir = tempDir();
    const hostHasMemory = read(join(mount!, "cgroup.controllers")).split(/\s+/).includes("memory");
    const cfg = writeJson(dir, "config.json", {
      pixel_test: false,
      services: [{ name: "limited", argv: ["sh", "-c", `cat /proc/self/cgroup > ${dir}/cgroup.txt; exec sleep 1000`], memory_max: "64M", memory_high: "48M" }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => read(join(dir, "cgroup.txt")) !== "", 15_000, "the service to run");
    // As a subreaper the service is under the init's own cgroup (this test's: the host's root here).
    expect(read(join(dir, "cgroup.txt"))).toMatch(new RegExp(`/vector-boot\\.${run.proc.pid}/limited$`, "m"));
    await waitFor(() => run.log().includes("service started"), 10_000, "the start line");
    const lines = run.log().split("\n").filter((l) => l.includes('cgroup controller "memory" is not available'));
    if (hostHasMemory) {
      expect(lines).toEqual([]);
    } else {
      expect(lines.length).toBe(1);
      expect(lines[0]).toContain("service=limited");
    }
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(15_000);
    expect(r.code).toBe(0);
    expect(existsSync(join(mount!, `vector-boot.${run.proc.pid}`))).toBe(false);
  }, 30_000);

  test("the empty cgroups of development inits killed with SIGKILL (vector-boot.<pid>, that pid gone) piled up; the next boot removes them and leaves a live init's", async () => {
    const parent = join(mount!, cgroupOf("/proc", "self")!);
    const dead = Bun.spawnSync(["true"]).pid; // ran and was reaped
    const stale = join(parent, `vector-boot.${dead}`);
    const live = join(parent, `vector-boot.${process.pid}`); // this test process: alive
    mkdirSync(join(stale, "svc"), { recursive: true });
    mkdirSync(live, { recursive: true });
    try {
      const cfg = writeJson(tempDir(), "config.json", { pixel_test: false, shutdown_after: 0.5, services: [{ name: "s", argv: ["sleep", "1000"] }] });
      const r = await start(["boot", ...bootArgs(), "--config", cfg]).result(20_000);
      expect(r.code).toBe(0);
      const line = r.stderr.split("\n").find((l) => l.includes("removed empty cgroups of inits that were killed"));
      expect(line).toContain(`vector-boot.${dead}`);
      expect(line).not.toContain(`vector-boot.${process.pid}`);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      for (const d of [join(stale, "svc"), stale, live]) if (existsSync(d)) rmdirSync(d);
    }
  }, 30_000);

  test("every beat read each service's cgroup files (memory, cpu, pids) on the main thread: with 200 services a tick took 20 ms instead of 0.2; the beat reads none of them, `services` still shows them", async () => {
    const dir = tempDir();
    const n = 100;
    const services = Array.from({ length: n }, (_, i) => ({ name: `s${i}`, argv: ["sleep", "1000"] }));
    const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), pixel_test: false, heartbeat_ms: 50, heartbeat_log_every: 10, services });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    const init = await run.initPid();
    const sock = join(dir, "run", "control");
    const status = async () => JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out) as { heartbeat: { beats: number }; services: Record<string, number> };
    await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
    await waitFor(async () => (await status()).services.running === n, 30_000, "every service running", { pollMs: 200 });
    // Read syscalls of the init's main thread (its tid is its pid) against the beats in between, from
    // its own beat lines (no request in the window: a request reads too).
    const mainReads = () => Number(/^syscr: (\d+)$/m.exec(readFileSync(`/proc/${init}/task/${init}/io`, "utf8"))![1]);
    const lastBeat = () => Math.max(0, ...[...run.log().matchAll(/ beat n=(\d+) /g)].map((m) => Number(m[1])));
    const b0 = lastBeat();
    await waitFor(() => lastBeat() > b0, 30_000, "a beat line");
    const r0 = mainReads();
    const b1 = lastBeat();
    await waitFor(() => lastBeat() >= b1 + 20, 30_000, "20 more beats");
    const reads = mainReads() - r0;
    const beats = lastBeat() - b1;
    // Fewer than one per service per beat (it was three or more: memory.current, cpu.stat, pids.current).
    expect(reads / beats).toBeLessThan(n / 2);
    const listed = JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out) as Array<{ cgroup: { memoryBytes: number | null; pids: number | null } | null }>;
    expect(listed).toHaveLength(n);
    expect(listed.every((s) => s.cgroup !== null && s.cgroup.pids === 1)).toBe(true);
    process.kill(init, "SIGTERM");
    expect((await run.result(30_000)).code).toBe(0);
  }, 90_000);

  test("the cgroups of PID-1 inits killed in their own PID namespace (vector-boot.pidns-<inode>) piled up on the host; a development init removes those whose namespace is gone and keeps a live one's", async () => {
    const parent = join(mount!, cgroupOf("/proc", "self")!);
    const nsOf = (line: string) => Number(/^pid:\[(\d+)\]$/.exec(line.trim())![1]);
    // A namespace that still holds a process (made first: the kernel reuses a freed namespace's inode)...
    const holder = Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", "readlink /proc/self/ns/pid; exec sleep 1000"], { stdout: "pipe", stderr: "ignore" });
    const liveNs = nsOf(new TextDecoder().decode((await holder.stdout.getReader().read()).value));
    // ...and one that existed and is gone (its only process ran and exited). The kernel recycles
    // namespace inodes: one whose directory some other init on this host left is not taken, and the
    // test holds the dead namespace open (a descriptor of its ns file, no process in it), so that no
    // namespace made meanwhile (other tests on the host) takes its inode and makes it look alive.
    let deadNs = 0;
    const held: number[] = [];
    for (let i = 0; i < 10 && (deadNs === 0 || existsSync(join(parent, `vector-boot.pidns-${deadNs}`))); i++) {
      const gone = Bun.spawn(["unshare", "--pid", "--fork", "sh", "-c", "readlink /proc/self/ns/pid; read _ || true"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
      deadNs = nsOf(new TextDecoder().decode((await gone.stdout.getReader().read()).value));
      let inside = 0;
      await waitFor(() => (inside = childrenOf(gone.pid)[0] ?? 0) > 0, 10_000, "unshare's child");
      held.push(openSync(`/proc/${inside}/ns/pid`, "r"));
      gone.stdin.end();
      expect(await gone.exited).toBe(0);
    }
    expect(deadNs).not.toBe(liveNs);
    const stale = join(parent, `vector-boot.pidns-${deadNs}`);
    const live = join(parent, `vector-boot.pidns-${liveNs}`);
    const liveExisted = existsSync(live);
    mkdirSync(join(stale, "svc"), { recursive: true });
    mkdirSync(join(live, "svc"), { recursive: true });
    try {
      const cfg = writeJson(tempDir(), "config.json", { pixel_test: false, shutdown_after: 0.5, services: [{ name: "s", argv: ["sleep", "1000"] }] });
      const r = await start(["boot", ...bootArgs(), "--config", cfg]).result(20_000);
      expect(r.code).toBe(0);
      const line = r.stderr.split("\n").find((l) => l.includes("removed empty cgroups of inits that were killed"));
      expect(line).toContain(`vector-boot.pidns-${deadNs}`);
      expect(line).not.toContain(`vector-boot.pidns-${liveNs}`);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(join(live, "svc"))).toBe(true);
    } finally {
      for (const fd of held) closeSync(fd);
      holder.kill("SIGKILL");
      await holder.exited;
      // Only what this test made (another init's directory may share the live namespace's recycled inode).
      for (const d of [join(stale, "svc"), stale, join(live, "svc"), ...(liveExisted ? [] : [live])]) if (existsSync(d)) rmdirSync(d);
    }
  }, 30_000);
});
