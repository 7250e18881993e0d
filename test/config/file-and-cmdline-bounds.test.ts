// A setting the config file and the kernel command line both take has the same bounds in each.
import { expect, test } from "bun:test";
import { parseCmdline } from "../../src/config/cmdline.ts";
import { validateConfig } from "../../src/config/load.ts";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { tempDir, writeJson } from "../pid1/harness.ts";

/** Each numeric key as the file writes it (fleet keys inside `fleet`) and as `vector.KEY=` names it, with its bounds. */
const keys: [file: (v: number) => unknown, cmdline: string, min: number, max: number][] = [
  [(v) => ({ heartbeat_ms: v }), "heartbeat_ms", 1, 60_000],
  [(v) => ({ heartbeat_log_every: v }), "heartbeat_log_every", 0, 1_000_000],
  [(v) => ({ shutdown_after: v }), "shutdown_after", 0, 31_536_000],
  [(v) => ({ grace_ms: v }), "grace_ms", 0, 3_600_000],
  [(v) => ({ shutdown_deadline_ms: v }), "shutdown_deadline_ms", 100, 3_600_000],
  [(v) => ({ fleet: { endpoints: ["http://etcd:2379"], lease_ttl_s: v } }), "fleet.lease_ttl_s", 10, 3600],
  [(v) => ({ fleet: { endpoints: ["http://etcd:2379"], quorum: v } }), "fleet.quorum", 1, 100_000],
];

const fileTakes = (raw: unknown) => {
  try {
    validateConfig(raw, "cfg");
    return true;
  } catch {
    return false;
  }
};
const cmdlineTakes = (key: string, v: number) => parseCmdline(`vector.${key}=${v}`).errors.length === 0;

test("shutdown_after 1e300 (and heartbeat_log_every 5000000, state_dir \"\") in the config file was accepted where the kernel command line refuses it: the file and vector.KEY= now share each bound, and the file's value exits 78 naming the key", () => {
  for (const [file, key, min, max] of keys) {
    for (const v of [min, max]) expect({ key, v, file: fileTakes(file(v)), cmdline: cmdlineTakes(key, v) }).toEqual({ key, v, file: true, cmdline: true });
    for (const v of [min - 1, max + 1, 1e300]) expect({ key, v, file: fileTakes(file(v)), cmdline: cmdlineTakes(key, v) }).toEqual({ key, v, file: false, cmdline: false });
  }
  for (const key of ["model", "state_dir", "run_dir"]) {
    expect({ key, file: fileTakes({ [key]: "" }), cmdline: parseCmdline(`vector.${key}=`).errors.length === 0 }).toEqual({ key, file: false, cmdline: false });
  }

  // The shipped executable: a file's shutdown_after past a year is a config error (78) naming the file and the key.
  const dir = tempDir();
  const huge = writeJson(dir, "huge.json", { pixel_test: false, shutdown_after: 1e300 });
  const r = runShipped(["boot", "--check", "--config", huge, ...bootArgs()], { timeoutMs: 20_000 });
  expect(r.code).toBe(78);
  expect(r.stderr).toContain(`${huge}: shutdown_after`);
  expect(r.stderr).toContain("31536000");
  const empty = writeJson(dir, "empty.json", { pixel_test: false, state_dir: "" });
  const e = runShipped(["boot", "--check", "--config", empty, ...bootArgs()], { timeoutMs: 20_000 });
  expect(e.code).toBe(78);
  expect(e.stderr).toContain(`${empty}: state_dir: must not be empty`);
}, 60_000);
