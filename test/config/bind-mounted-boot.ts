// Boots the shipped executable as PID 1 of new namespaces with a file or directory of the test's bind-mounted over the machine's (its /proc/cmdline, its /etc).
import { basename } from "node:path";
import { hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { childrenOf } from "../pid1/harness.ts";

/**
 * Runs `argv` (the shipped executable and its arguments) as PID 1 with `source` bind-mounted over `target` (exit 125 if
 * the mount fails), `env` added to the shipped environment; its exit code and stderr. A run past `timeoutMs` is SIGKILLed.
 */
export async function bootWithBindMount(target: string, source: string, argv: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; stderr: string }> {
  const inner = `mount --bind "$1" ${target} || exit 125; shift; exec "$@"`;
  const proc = Bun.spawn(hidden(["/bin/sh", "-c", inner, `vb-${basename(target)}`, source, ...argv], { pid1: true }), { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv(env) });
  // A boot that hangs: the namespace's PID 1 first (it holds stderr open; killing unshare alone left it running and the test waiting).
  const timer = setTimeout(() => {
    for (const c of childrenOf(proc.pid)) process.kill(c, "SIGKILL");
    proc.kill("SIGKILL");
  }, timeoutMs);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stderr };
}
