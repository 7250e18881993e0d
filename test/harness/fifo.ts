// A named pipe (mkfifo) for tests: a stand-in device, or a path that must not hang whoever opens it.
import { join } from "node:path";

/** Creates the FIFO `dir/name` and returns its path. */
export function mkfifo(dir: string, name = "fifo"): string {
  const path = join(dir, name);
  if (Bun.spawnSync(["mkfifo", path]).exitCode !== 0) throw new Error(`mkfifo ${path} failed`);
  return path;
}
