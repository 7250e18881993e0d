// cgroup limits beyond what the kernel's cgroup files take (memory past 2^64-1, a cpu quota past 2^44-1 µs) are refused at load.
import { expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load.ts";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { tempDir, writeJson } from "../pid1/harness.ts";

const check = (dir: string, limits: Record<string, unknown>) => {
  const cfg = writeJson(dir, "c.json", { pixel_test: false, services: [{ name: "svc", argv: ["true"], ...limits }] });
  return { cfg, ...runShipped(["boot", "--check", "--config", cfg, ...bootArgs()], { timeoutMs: 20_000 }) };
};

test("a memory_max beyond u64 or a 20-digit cpu_max quota said 'config ok'; the kernel then refused the cgroup write and the service ran with no limit: refused now with 78 naming the key", () => {
  const dir = tempDir();
  const refused: [string, unknown][] = [
    ["memory_max", "100000000000000000000000"], // 10^23: written as "1e+23", which memparse refuses
    ["memory_max", "18446744073709551616"], // 2^64
    ["memory_max", "20000000000G"],
    ["memory_high", "99999999999999999999"],
    ["cpu_max", "99999999999999999999/100000"],
    ["cpu_max", "99999999999999999999"],
    ["cpu_max", "17592186044416 100000"], // 2^44 µs: over the kernel's max_cfs_runtime
  ];
  for (const [key, value] of refused) {
    const r = check(dir, { [key]: value });
    expect({ key, value, code: r.code }).toEqual({ key, value, code: 78 });
    expect(r.stderr).toContain(`${r.cfg}: services[0].${key}: `);
    expect(r.stderr).toContain("at most");
  }
  // The largest values the kernel takes are still accepted.
  for (const limits of [{ memory_max: "18446744073709551615", memory_high: "16777215G", cpu_max: "17592186044415/100000" }, { memory_max: "max", cpu_max: "max 100000" }]) {
    const r = check(dir, limits);
    expect({ limits, code: r.code, err: r.stderr }).toEqual({ limits, code: 0, err: "" });
  }
}, 120_000);

test("a memory_max past 2^53 bytes was written rounded (18446744073709551615 as 18446744073709552000, which the kernel's parser wraps past 2^64): the exact digits are written", () => {
  const svc = (extra: Record<string, unknown>) => validateConfig({ services: [{ name: "s", argv: ["x"], ...extra }] }).services[0]!;
  expect(svc({ memory_max: "18446744073709551615" }).memory_max).toBe("18446744073709551615");
  expect(svc({ memory_high: "9007199254740993" }).memory_high).toBe("9007199254740993");
  expect(svc({ memory_max: "16777215G" }).memory_max).toBe(String(16777215n << 30n));
  expect(svc({ memory_max: "64M", memory_high: 1_048_576 })).toMatchObject({ memory_max: "67108864", memory_high: "1048576" });
});
