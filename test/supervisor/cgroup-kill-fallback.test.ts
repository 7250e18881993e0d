// On a kernel without cgroup.kill (before 5.14) a service's SIGKILL by cgroup did nothing: its forking leftovers ran on; the fallback was then chosen by the wrong errno.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cgroup2Mount, cgroupPids, cgroupPopulated, killCgroup, killCgroupProcs } from "../../src/sys/cgroup.ts";
import { removeCgroupTree } from "../harness/cgroup-tree.ts";
import { waitFor } from "../harness/wait.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

test("without cgroup.kill (Linux before 5.14) the SIGKILL of a service's cgroup was refused and its processes ran on; the fallback kills every process in it and below, a shell forking all the while too", async () => {
  const mount = cgroup2Mount();
  expect(mount).not.toBeNull();
  const dir = join(mount!, `vb-test-kill-fallback-${process.pid}`);
  const inner = join(dir, "inner");
  mkdirSync(inner, { recursive: true });
  // Whatever a failed assertion left goes with it.
  cleanups.push(() => removeCgroupTree(dir));
  // A shell that forks a sleep every 5 ms (no pass can list them all before the next one is there),
  // and one process in a cgroup below the service's, as a service that made its own would have.
  const forker = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && while :; do sleep 1000 & sleep 0.005; done', dir], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const below = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec sleep 1000', inner], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  cleanups.push(() => {
    forker.kill("SIGKILL");
    below.kill("SIGKILL");
  });
  await waitFor(() => cgroupPids(dir).length >= 20 && cgroupPids(inner).length === 1, 10_000, "the forking shell's sleeps and the process below");

  expect(killCgroupProcs(dir)).toBe(true);
  await waitFor(() => !cgroupPopulated(dir), 5000, "the cgroup to empty", { explain: () => `left: ${cgroupPids(dir).length} in it, ${cgroupPids(inner).length} below` });
  expect(await forker.exited).toBe(137);
  expect(await below.exited).toBe(137);
  // Thawed again: a process moved in afterwards runs (a frozen cgroup would stop it at once).
  const after = Bun.spawnSync(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && echo ran', dir], { stdout: "pipe" });
  expect(after.stdout.toString()).toBe("ran\n");
});

test("killCgroup went by the error of its cgroup.kill write (ENOENT), but the kernel answers EACCES for a control file it does not have: on a kernel before 5.14 the fallback never ran; it now looks for cgroup.kill first", async () => {
  // A directory shaped like such a cgroup (cgroup.procs, no cgroup.kill), listing a process of ours.
  const dir = mkdtempSync(join(tmpdir(), "vb-old-cgroup-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const victim = Bun.spawn(["sleep", "1000"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  cleanups.push(() => victim.kill("SIGKILL"));
  writeFileSync(join(dir, "cgroup.procs"), `${victim.pid}\n`);
  expect(killCgroup(dir)).toBe(true);
  expect(await victim.exited).toBe(137);
  expect(existsSync(join(dir, "cgroup.kill"))).toBe(false);
});
