// hw.mmio from sources that are partly there: a thermal zone that cannot be read, a meminfo without what is free, a /proc root that is not absolute.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HwFlag, hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";
import { validateConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;

function fakeRoot(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "vb-hw-partial-"));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const stat = "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\nprocs_running 1\nprocs_blocked 0\n";

test("a thermal zone that could not be read moved every later zone down a slot (thermal_zone2's 90 C read as thermal.1): slot N is thermal_zoneN, 0 while unreadable", () => {
  const proc = fakeRoot({ stat, meminfo: "MemTotal: 1024 kB\nMemAvailable: 512 kB\n", loadavg: "0 0 0 1/1 1\n" });
  // zone1's temp is a directory: reading it fails, as a zone whose device is down does.
  const sys = fakeRoot({ "class/thermal/thermal_zone0/temp": "40000\n", "class/thermal/thermal_zone1/temp/x": "", "class/thermal/thermal_zone2/temp": "90000\n" });
  try {
    const v = new ProcSampler({ procRoot: proc, sysRoot: sys, smoothingMs: 0 }).sample(1000);
    expect([val(v, "thermal.0"), val(v, "thermal.1"), val(v, "thermal.2")]).toEqual([40, 0, 90]);
    expect(val(v, "thermal.max_c")).toBe(90);
    expect(val(v, "thermal.zones")).toBe(2);
  } finally {
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
});

test("a meminfo with MemTotal but neither MemAvailable nor MemFree read as 100 % used (relieve_memory could fire): memory is flagged missing and reads 0", () => {
  const proc = fakeRoot({ stat, meminfo: "MemTotal: 1048576 kB\nDirty: 0 kB\n", loadavg: "0 0 0 1/1 1\n" });
  const sys = fakeRoot({ "class/other/x": "" });
  try {
    const v = new ProcSampler({ procRoot: proc, sysRoot: sys, smoothingMs: 0 }).sample(1000);
    expect(val(v, "flags") & HwFlag.memMissing).toBe(HwFlag.memMissing);
    expect(val(v, "mem.used_frac")).toBe(0);
  } finally {
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
});

test('heartbeat.proc_root "" (or a relative path) passed `boot --check` and left the cortex blind (every source missing, no warning): a ConfigError naming the field', () => {
  for (const [key, value] of [["proc_root", ""], ["proc_root", "proc"], ["sys_root", "./sys"]] as const) {
    let err: unknown;
    try {
      validateConfig({ heartbeat: { [key]: value } }, "cfg");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(`cfg: heartbeat.${key}`);
  }
});
