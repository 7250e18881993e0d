// The shipped executable's `mutate` and the shipped Python client's, run to completion: exit code and the JSON they print.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

/** Runs `cmd` (30 s at most); its stdout must be one JSON value. */
export function runJson(cmd: string[], env?: Record<string, string>): { code: number; json: Record<string, unknown> } {
  const r = Bun.spawnSync(cmd, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const out = r.stdout.toString().trim();
  if (!out) throw new Error(`${cmd.join(" ")}: no output (exit ${r.exitCode}): ${r.stderr.toString()}`);
  return { code: r.exitCode ?? -1, json: JSON.parse(out) };
}

/** `vector-boot mutate ARGS --socket SOCKET --json` (the control socket). */
export const controlMutate = (socket: string, args: string[]) => runJson(shipped(["mutate", ...args, "--socket", socket, "--json"]));

/** `python -m vector_boot_evolution --socket SOCKET mutate ARGS` (the shared-memory channel). */
export const pythonMutate = (socket: string, args: string[]) => runJson([python, "-m", "vector_boot_evolution", "--socket", socket, "mutate", ...args], { PYTHONPATH: shippedPython });

/** Path of the newest checkpoint GGUF in `stateDir`/checkpoints (names sort by sequence). */
export function newestCheckpoint(stateDir: string): string {
  const dir = join(stateDir, "checkpoints");
  return join(dir, readdirSync(dir).filter((f) => f.endsWith(".gguf")).sort().at(-1)!);
}
