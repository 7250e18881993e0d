// tini mode: CMD lost every descriptor from 4 up that the init was started with (Bun marks them close-on-exec as it starts).
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "./harness.ts";
import { referenceInits } from "./reference-inits.ts";

afterEach(killLeftovers);

/** Runs `init... /bin/sh -c SCRIPT` with descriptors 3, 4 and 9 open on files; what CMD wrote to each, and its descriptors. */
function withDescriptors(init: string[], pid1: boolean): { code: number | null; out: string; err: string; files: string[] } {
  const dir = tempDir("vb-fds-");
  const files = ["three", "four", "nine"].map((n) => join(dir, n));
  const cmd = 'echo three >&3 && echo four >&4 && echo nine >&9 && ls /proc/$$/fd'; // no pipe: the shell holds no descriptor of its own then
  const outer = 'exec 3>"$1" 4>"$2" 9>"$3"; shift 3; exec "$@"';
  const r = Bun.spawnSync(hidden(["/bin/sh", "-c", outer, "sh", ...files, ...init, "/bin/sh", "-c", cmd], { pid1 }), { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv(), timeout: 30_000 });
  return { code: r.exitCode, out: r.stdout.toString().trim().split(/\s+/).join(" "), err: r.stderr.toString(), files: files.map((f) => readFileSync(f, "utf8").trim()) };
}

test("CMD got descriptors 0-3 only: 4 and up, open in the caller (`CMD 4>file`, socket activation's LISTEN_FDS=2), were closed at its exec where tini and dumb-init hand on every one; now it gets each, as PID 1 too, and none of the init's own", () => {
  const references = referenceInits();
  for (const pid1 of [false, true]) {
    for (const [name, init] of [["vector-boot", [exe, "--"]] as [string, string[]], ...references]) {
      const r = withDescriptors(init, pid1);
      expect({ name, pid1, code: r.code, files: r.files, fds: r.out, err: r.code === 0 ? "" : r.err }).toEqual({ name, pid1, code: 0, files: ["three", "four", "nine"], fds: "0 1 2 3 4 9", err: "" });
    }
  }
}, 120_000);
