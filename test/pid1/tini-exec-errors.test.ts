// tini mode: a CMD that cannot be executed (a symlink loop, a file being written, a too long path: once 71) and PATH searched as execvp searches it.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir } from "./harness.ts";
import { referenceInits } from "./reference-inits.ts";

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

test("a CMD whose first match on PATH cannot run (ENOENT: its #! interpreter or ELF loader is missing) exited 127 'not found'; execvp, as tini and dumb-init use it, goes on to the next match on PATH: so does tini mode now, as PID 1 too", async () => {
  const dir = tempDir("vb-path-");
  const broken = join(dir, "broken");
  const good = join(dir, "good");
  const noexec = join(dir, "noexec");
  for (const d of [broken, good, noexec]) mkdirSync(d);
  writeFileSync(join(broken, "tool"), "#!/nonexistent/interpreter\n");
  chmodSync(join(broken, "tool"), 0o755);
  writeFileSync(join(noexec, "tool"), "#!/bin/sh\necho not executable\n"); // no x bit: execve's EACCES, also passed over
  writeFileSync(join(good, "tool"), "#!/bin/sh\necho ran the next one\n");
  chmodSync(join(good, "tool"), 0o755);
  const PATH = `${broken}:${noexec}:${good}:/usr/bin:/bin`;
  const references = referenceInits();
  for (const [name, init] of references) {
    const r = Bun.spawnSync([...init, "tool"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, PATH }, timeout: 15_000 });
    expect({ name, code: r.exitCode, out: r.stdout.toString() }).toEqual({ name, code: 0, out: "ran the next one\n" });
  }
  for (const pid1 of [false, true]) {
    const r = await start(["--", "tool"], { pid1, env: { PATH } }).result(15_000);
    expect({ pid1, code: r.code, out: r.stdout, err: r.code === 0 ? "" : r.stderr }).toEqual({ pid1, code: 0, out: "ran the next one\n", err: "" });
  }
  // No other match on PATH (/usr/bin and /bin are for unshare): the failure is the first file's own, as before (127, ENOENT); a file there
  // without the x bit and nothing runnable after it is EACCES (126), as execvp reports it.
  const alone = await start(["--", "tool"], { env: { PATH: `${broken}:/usr/bin:/bin` } }).result(15_000);
  expect({ code: alone.code, named: alone.stderr.includes("tool: command not found (ENOENT)") }).toEqual({ code: 127, named: true });
  const denied = await start(["--", "tool"], { env: { PATH: `${broken}:${noexec}:/usr/bin:/bin` } }).result(15_000);
  expect({ code: denied.code, named: denied.stderr.includes("tool: cannot execute (EACCES)") }).toEqual({ code: 126, named: true });
}, 120_000);
