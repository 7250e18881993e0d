// As PID 1, vector.config= on the kernel command line names the config file even when /etc/vector-boot/config.json exists.
import { afterEach, expect, test } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { exe } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { bootWithBindMount } from "./bind-mounted-boot.ts";

afterEach(killLeftovers);

/** Boots the shipped executable as PID 1 with `etc` bind-mounted over /etc (the image's /etc/vector-boot/config.json). */
async function bootWithEtc(etc: string, cmdline: string, state: string): Promise<{ code: number; stderr: string }> {
  const boot = [exe, "boot", ...bootArgs(), "--cmdline", cmdline, "--set", `state_dir=${state}`];
  return bootWithBindMount("/etc", etc, boot, { JSC_SIGNAL_FOR_GC: "40" }, 20_000);
}

test("as PID 1 with /etc/vector-boot/config.json present, vector.config= on the kernel command line was ignored (the default file was read); the command line's file is read, as for every other key", async () => {
  const dir = tempDir();
  const etc = join(dir, "etc");
  mkdirSync(join(etc, "vector-boot"), { recursive: true });
  for (const f of ["passwd", "group"]) copyFileSync(`/etc/${f}`, join(etc, f));
  writeJson(join(etc, "vector-boot"), "config.json", { heartbeat_ms: 77 });
  const chosen = writeJson(dir, "chosen.json", { heartbeat_ms: 33 });
  const r = await bootWithEtc(etc, `vector.config=${chosen} vector.shutdown_after=0.5`, join(dir, "state"));
  expect(r.stderr).toContain("phase config");
  expect(r.stderr).toMatch(/phase config .*heartbeat_ms=33/);
  expect(r.stderr).not.toMatch(/heartbeat_ms=77/);
  // Without vector.config the image's file is still the one read.
  const d = await bootWithEtc(etc, "vector.shutdown_after=0.5", join(dir, "state2"));
  expect(d.stderr).toMatch(/phase config .*heartbeat_ms=77/);
}, 60_000);
