// What `boot --check` makes of a kernel command line given with --cmdline: the state dir it reports.
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";

/** `boot --check --config cfg --cmdline cmdline`: its exit code, the `state:` line's value (null if none) and its stderr. */
export function checkedStateDir(cfg: string, cmdline: string): { code: number; state: string | null; err: string } {
  const r = runShipped(["boot", "--check", "--config", cfg, "--cmdline", cmdline, ...bootArgs()], { timeoutMs: 20_000 });
  return { code: r.code, state: /^state: (.*)$/m.exec(r.stdout)?.[1] ?? null, err: r.stderr };
}
