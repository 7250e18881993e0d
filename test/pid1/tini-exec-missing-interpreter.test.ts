// tini mode: a CMD file that is there but whose #! interpreter is missing (a CR-ended #! line) was reported "command not found".
import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir } from "./harness.ts";

afterEach(killLeftovers);

test("an entrypoint script saved with Windows line ends (#!/bin/sh\\r) exited 127 saying 'command not found' though the file is there (exec's ENOENT was for its interpreter); it still exits 127, as tini, and names the missing interpreter \"/bin/sh\\r\" and the CR, as PID 1 too", async () => {
  const dir = tempDir("vb-interp-");
  const crlf = join(dir, "entrypoint.sh");
  writeFileSync(crlf, "#!/bin/sh\r\necho hi\r\n");
  const other = join(dir, "other.sh");
  writeFileSync(other, "#! /nonexistent/interp -x\necho hi\n");
  for (const f of [crlf, other]) chmodSync(f, 0o755);
  if (existsSync("/usr/bin/tini")) {
    for (const f of [crlf, other]) {
      const r = Bun.spawnSync(hidden(["/usr/bin/tini", "-s", "--", f]), { stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv(), timeout: 30_000 });
      expect({ tini: f, code: r.exitCode }).toEqual({ tini: f, code: 127 });
    }
  }
  for (const pid1 of [false, true]) {
    const r = await start(["--", crlf], { pid1 }).result(15_000);
    expect({ pid1, code: r.code }).toEqual({ pid1, code: 127 });
    expect(r.stderr).toContain(`${crlf}: cannot run (ENOENT): the file is there: its #! interpreter "/bin/sh\\r" is missing (a #! line ending in CR: the file has Windows line ends)`);
    expect(r.stderr).not.toContain("command not found");
  }
  // Relative to the directory CMD starts in (the init has left it), and without a CR.
  const rel = await start(["--", "./other.sh"], { cwd: dir }).result(15_000);
  expect(rel.code).toBe(127);
  expect(rel.stderr).toContain(`./other.sh: cannot run (ENOENT): the file is there: its #! interpreter "/nonexistent/interp" is missing`);
  // A file that is not there is still "command not found".
  const missing = await start(["--", join(dir, "missing")]).result(15_000);
  expect(missing.code).toBe(127);
  expect(missing.stderr).toContain("command not found (ENOENT)");
}, 120_000);
