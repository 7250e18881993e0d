// A PID 1 of a PID namespace of its own (`unshare --pid`, a container) powering off closed the watchdog without the magic 'V' (reboot(2) ends the namespace): the device, the host's /dev/watchdog in a development run, stayed armed and reset the machine.
import { expect, test } from "bun:test";
import { standInWatchdog } from "../harness/stand-in-watchdog.ts";
import { start, tempDir, writeJson } from "./harness.ts";

test("a namespace's PID 1 that powers off (shutdown_after) disarms the watchdog with the magic 'V' before reboot(2) ends the namespace", async () => {
  const dir = tempDir();
  const wd = standInWatchdog(dir);
  const cfg = writeJson(dir, "cfg.json", { heartbeat: { watchdog: wd.path } });
  const run = start(["boot", "--config", cfg, "--set", "shutdown_after=2"], { pid1: true });
  await run.result(60_000);
  await wd.done; // the device closed: by the magic close, or by the namespace's end
  const log = run.log();
  expect(log).toContain("watchdog armed");
  expect(log).toContain("poweroff now");
  const bytes = String.fromCharCode(...wd.bytes.map((b) => b.byte));
  expect(bytes.length).toBeGreaterThan(1);
  expect(bytes.at(-1)).toBe("V");
}, 90_000);
