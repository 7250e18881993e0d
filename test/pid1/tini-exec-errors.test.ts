// tini mode: a CMD that cannot be executed for another reason than EACCES (a symlink loop, a file being written, a too long path) exited 71.
import { afterEach, expect, test } from "bun:test";
import { closeSync, copyFileSync, openSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir } from "./harness.ts";

afterEach(killLeftovers);

test("a CMD that is a symlink loop (ELOOP), open for writing (ETXTBSY) or a path over PATH_MAX (ENAMETOOLONG) exited 71, a failed system call of the init's own; it is 126 naming CMD and the errno, as PID 1 too; -e 126 maps it to 0", async () => {
  const dir = tempDir("vb-exec-");
  const loop = join(dir, "loop");
  symlinkSync(loop, loop);
  const busy = join(dir, "busy");
  copyFileSync("/bin/true", busy);
  const writer = openSync(busy, "a"); // while a writer holds it, execve answers ETXTBSY
  try {
    const cases: Array<[string, string]> = [
      [loop, "ELOOP"],
      [join(loop, "x"), "ELOOP"],
      [busy, "ETXTBSY"],
      [`/${"a".repeat(5000)}`, "ENAMETOOLONG"],
    ];
    for (const pid1 of [false, true]) {
      for (const [cmd, errno] of cases) {
        const r = await start(["--", cmd], { pid1 }).result(15_000);
        expect({ pid1, errno, code: r.code }).toEqual({ pid1, errno, code: 126 });
        expect(r.stderr).toContain(`${cmd}: cannot execute (${errno})`);
      }
    }
    const remapped = await start(["-e", "126", "--", loop]).result(15_000);
    expect(remapped.code).toBe(0);
  } finally {
    closeSync(writer);
  }
  // Not found stays 127; the file, once nobody writes it, runs.
  expect((await start(["--", join(dir, "missing")]).result(15_000)).code).toBe(127);
  expect((await start(["--", busy]).result(15_000)).code).toBe(0);
}, 120_000);

test("-e 71 turned the init's own failure to start CMD (fork failed: EMFILE, so CMD never ran) into exit 0; tini's -e maps CMD's exit status only", () => {
  // `prlimit` lowers the descriptor limit of the shipped executable alone, to the highest limit at
  // which Bun still starts and the spawn's own descriptors run out (how many Bun holds varies).
  let failed: { code: number | null; err: string } | null = null;
  for (let n = 12; n >= 4 && failed === null; n--) {
    const r = Bun.spawnSync(hidden(["prlimit", `--nofile=${n}`, exe, "-e", "71", "--", "true"]), { stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv(), timeout: 30_000 });
    const err = r.stderr.toString();
    if (err.includes("spawn true: fork failed: EMFILE")) failed = { code: r.exitCode, err };
  }
  if (failed === null) throw new Error("no descriptor limit from 12 down to 4 made the spawn fail with EMFILE: this machine cannot show it");
  expect(failed.err).not.toContain("remapped to 0");
  expect(failed.code).toBe(71);
}, 120_000);
