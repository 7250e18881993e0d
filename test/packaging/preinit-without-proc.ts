// The pre-init run as PID 1 where /proc cannot be mounted and reboot(2) is refused: a new PID namespace inside a user namespace that does not own it.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./helpers.ts";

/**
 * Copies the built pre-init into `dir` and starts it as PID 1 of a new PID namespace, then in a user
 * namespace that does not own it: mounting proc is refused (EPERM; the /proc it sees is an empty
 * tmpfs) and so is reboot(2). stdout and stderr are pipes.
 */
export function spawnPreinitWithoutProc(dir: string) {
  const preinit = join(dir, "init");
  copyFileSync(join(root, "dist/native/preinit"), preinit);
  const script = 'exec unshare --user --map-root-user --mount sh -c "mount -t tmpfs none /proc && exec \\"\\$0\\"" "$0"';
  return Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "sh", "-c", script, preinit], { stdout: "pipe", stderr: "pipe" });
}
