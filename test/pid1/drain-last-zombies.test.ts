// Tini mode's leftover drain ended on "no live descendant" while the last ones were zombies just made its children: the init exited with them unreaped.
import { expect, test } from "bun:test";
import { exe, hidden, shippedEnv } from "../harness/artifact.ts";

test("after the SIGKILL step of the drain, a leftover and the child it left (both just killed) could still be zombies of the init when it exited (1 run in 3): they were handed up unreaped; none is left in 8 runs", () => {
  const leave = `trap '' TERM; sh -c 'sleep 300; true' & exit 0`;
  // PID 1 of the namespace waits for the init's pid only (a shell's wait(-1) would reap what the
  // init left): a zombie the init hands up stays visible under it.
  const py = [
    "import os, subprocess, sys, time",
    "for i in range(8): subprocess.run([sys.argv[1], '--grace', '200', '--', 'sh', '-c', sys.argv[2]])",
    "time.sleep(0.3)",
    "print(sum(1 for p in os.listdir('/proc') if p.isdigit() and open('/proc/%s/stat' % p).read().rsplit(')', 1)[1].split()[0] == 'Z'))",
  ].join("\n");
  const r = Bun.spawnSync(hidden(["unshare", "--pid", "--fork", "--mount-proc", "python3", "-c", py, exe, leave]), { stdout: "pipe", stderr: "pipe", env: shippedEnv(), timeout: 60_000 });
  expect({ code: r.exitCode, zombies: r.stdout.toString().trim() }).toEqual({ code: 0, zombies: "0" });
}, 90_000);
