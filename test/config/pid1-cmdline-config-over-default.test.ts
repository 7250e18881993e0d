// As PID 1, vector.config= on the kernel command line names the config file even when /etc/vector-boot/config.json exists.
import { afterEach, expect, test } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { childrenOf, killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootArgs } from "../pid1/boot-args.ts";

afterEach(killLeftovers);

/** Boots the shipped executable as PID 1 with `etc` bind-mounted over /etc (the image's /etc/vector-boot/config.json). */
async function bootWithEtc(etc: string, cmdline: string, state: string): Promise<{ code: number; stderr: string }> {
  const inner = 'mount --bind "$1" /etc || exit 125; shift; exec "$@"';
  const boot = [exe, "boot", ...bootArgs(), "--cmdline", cmdline, "--set", `state_dir=${state}`];
  const proc = Bun.spawn(hidden(["/bin/sh", "-c", inner, "vb-etc", etc, ...boot], { pid1: true }), { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv({ JSC_SIGNAL_FOR_GC: "40" }) });
  // A boot that hangs: the namespace's PID 1 first (it holds stderr open; killing unshare alone left it running and the test waiting).
  const timer = setTimeout(() => {
    for (const c of childrenOf(proc.pid)) process.kill(c, "SIGKILL");
    proc.kill("SIGKILL");
  }, 20_000);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stderr };
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
