// Test programs in C: written to a directory and compiled with gcc (on every machine); a failed compile fails the test with gcc's message.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes `source` to DIR/NAME.c, compiles it to DIR/NAME and returns that path; throws with gcc's output when it fails. */
export function compileC(dir: string, name: string, source: string, flags: readonly string[] = ["-O1"]): string {
  const src = join(dir, `${name}.c`);
  const exe = join(dir, name);
  writeFileSync(src, source);
  const cc = Bun.spawnSync(["gcc", ...flags, "-o", exe, src], { stderr: "pipe", timeout: 60_000 });
  if (cc.exitCode !== 0) throw new Error(`gcc ${name}.c failed (exit ${cc.exitCode}): ${cc.stderr.toString()}`);
  return exe;
}
