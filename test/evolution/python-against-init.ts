// A development boot of the shipped init for a Python client test, and a Python script run against its sockets with the shipped package.
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

export interface InitForPython {
  /** The evolution socket and the control socket of the running init. */
  evolutionSocket: string;
  controlSocket: string;
  /** Runs `script` with python3 (`sys.argv[1]` the evolution socket, `sys.argv[2]` the control socket); its stdout and stderr. */
  runPython(script: string): { stdout: string; stderr: string };
}

/** Boots the shipped init (no checkpoints on a timer) in a fresh directory and waits for its heartbeat phase. */
export async function initForPython(): Promise<InitForPython> {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 } });
  const boot = start(["boot", "--config", cfg]);
  await waitFor(() => boot.log().includes("phase heartbeat"), 30_000, "boot up");
  const evolutionSocket = join(dir, "run/evolution.sock");
  const controlSocket = join(dir, "run/control");
  return {
    evolutionSocket,
    controlSocket,
    runPython(script) {
      const r = Bun.spawnSync([python, "-c", script, evolutionSocket, controlSocket], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe", timeout: 90_000 });
      return { stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    },
  };
}
