// tini mode: a CMD that cannot be executed for another reason than EACCES (a symlink loop, a file being written, a too long path) exited 71.
import { afterEach, expect, test } from "bun:test";
import { closeSync, copyFileSync, openSync, symlinkSync } from "node:fs";
import { join } from "node:path";
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
