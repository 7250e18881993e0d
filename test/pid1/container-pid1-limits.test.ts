// PID 1 of a PID namespace set up as a container often is: without CAP_SYS_BOOT (reboot(2) refused), or sharing its caller's mount namespace.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { exe, hidden, runAsync, shippedEnv } from "../harness/artifact.ts";
import { tempDir } from "./harness.ts";

const bootArgs = (dir: string) => ["boot", "--set", "shutdown_after=1", "--set", "pixel_test=0", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`];

test("as PID 1 of a container without CAP_SYS_BOOT (Docker drops it), a shutdown whose reboot(2) was refused stayed up for good, ignoring every later SIGTERM (docker stop: 10 s, then SIGKILL): it exits with the machine's status", async () => {
  const dir = tempDir("vb-nosysboot-");
  const argv = hidden(["setpriv", "--bounding-set", "-sys_boot", "--inh-caps", "-sys_boot", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", exe, ...bootArgs(dir)]); // --kill-child: an init that stays up dies with the test's kill
  const r = await runAsync(argv, { timeoutMs: 30_000, env: shippedEnv() });
  expect({ code: r.code }).toEqual({ code: 0 });
  expect(r.err).toContain("reboot(2) failed; exiting instead");
  expect(r.out + r.err).toContain("vector-boot-status");
}, 60_000);

test("as PID 1 of `unshare --pid --fork` without --mount, the boot mounted tmpfs over its caller's /run and /tmp (they outlived it): it leaves the caller's mounts alone", async () => {
  const dir = tempDir("vb-sharedmnt-");
  const script = `list() { cut -d' ' -f5 /proc/self/mountinfo | sort | tr '\\n' ' '; }; before=$(list); unshare --pid --fork "$@" > /dev/null 2>&1; echo "rc=$?"; after=$(list); [ "$before" = "$after" ] && echo same || echo "changed: $after"`;
  const r = await runAsync(hidden(["sh", "-c", script, "sh", exe, ...bootArgs(dir)]), { timeoutMs: 30_000, env: shippedEnv() });
  expect(r.out.trim().split("\n")).toEqual([expect.stringMatching(/^rc=/), "same"]);
}, 60_000);
