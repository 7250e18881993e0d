// The shipped executable as PID 1 of a new PID namespace whose mount namespace has no cgroup2 filesystem (cgroups off, as in many containers).
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { childrenOf } from "./harness.ts";

/** Boots with `config`; its kill goes on `cleanups`. `log`: its stderr so far; `shutdown`: SIGTERM to the init, resolves with its exit code. */
export function bootWithoutCgroups(config: string, cleanups: (() => void)[]) {
  const unmount = `for m in $(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts); do umount -l "$m" || exit 125; done; exec "$@"`;
  const proc = Bun.spawn(hidden(["/bin/sh", "-c", unmount, "sh", exe, "boot", ...bootArgs(), "--config", config], { pid1: true }), {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    cwd: shippedDir,
    env: shippedEnv({ JSC_SIGNAL_FOR_GC: "40" }),
  });
  let log = "";
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) log += dec.decode(chunk, { stream: true });
  })();
  cleanups.push(() => {
    for (const c of childrenOf(proc.pid)) process.kill(c, "SIGKILL"); // the namespace's init: the kernel kills the rest
    proc.kill("SIGKILL");
  });
  const shutdown = async () => {
    for (const c of childrenOf(proc.pid)) process.kill(c, "SIGTERM");
    const [code] = await Promise.all([proc.exited, done]);
    return code;
  };
  return { log: () => log, shutdown };
}
