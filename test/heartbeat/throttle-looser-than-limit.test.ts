// A throttle through cpu.max wrote its own limit over the service's: a service capped at 0.1 CPU by its config (`cpu_max`) ran at 0.2 while "throttled", until the release.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { changeCpuMax, releaseCpuMax, throttleCpuMax } from "../../src/heartbeat/cgroup-throttle.ts";
import { tempDir } from "../pid1/harness.ts";

/** A /proc and a cgroup2 mount of its own: the service (pid 4242) in cgroup /svc, whose cpu.max holds `cpuMax`. */
function fakeHost(cpuMax: string) {
  const d = tempDir("vb-cpumax-");
  const proc = join(d, "proc");
  const cg = join(d, "cgroup");
  mkdirSync(join(proc, "self"), { recursive: true });
  mkdirSync(join(proc, "4242"), { recursive: true });
  mkdirSync(join(cg, "svc"), { recursive: true });
  writeFileSync(join(proc, "self/mountinfo"), `30 1 0:26 / ${cg} rw,nosuid - cgroup2 cgroup2 rw\n`);
  writeFileSync(join(proc, "self/cgroup"), "0::/init\n");
  writeFileSync(join(proc, "4242/cgroup"), "0::/svc\n");
  writeFileSync(join(cg, "svc/cpu.max"), `${cpuMax}\n`);
  return { proc, sys: join(d, "sys"), file: join(cg, "svc/cpu.max") };
}

test("a throttle at 0.2 of a service capped at 0.1 CPU keeps its cap (and restores it on release); an uncapped one gets 0.2, and a change keeps the stricter too", () => {
  const capped = fakeHost("10000 100000");
  const t = throttleCpuMax(capped.proc, capped.sys, 4242, 0.2, 100)!;
  expect(t).not.toBeNull();
  expect(readFileSync(capped.file, "utf8").trim()).toBe("10000 100000");
  expect(changeCpuMax(t, 0.5, 100)).toBe(true);
  expect(readFileSync(capped.file, "utf8").trim()).toBe("10000 100000");
  expect(releaseCpuMax(t)).toBe(true);
  expect(readFileSync(capped.file, "utf8").trim()).toBe("10000 100000");

  const free = fakeHost("max 100000");
  const u = throttleCpuMax(free.proc, free.sys, 4242, 0.2, 100)!;
  expect(readFileSync(free.file, "utf8").trim()).toBe("20000 100000");
  expect(changeCpuMax(u, 0.05, 100)).toBe(true);
  expect(readFileSync(free.file, "utf8").trim()).toBe("5000 100000");
  releaseCpuMax(u);
  expect(readFileSync(free.file, "utf8").trim()).toBe("max 100000");
});
