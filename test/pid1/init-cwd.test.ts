// tini mode kept its start directory as its own cwd for CMD's whole life (a mount there stayed busy); like dumb-init it moves to / after starting CMD.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir } from "./harness.ts";

afterEach(killLeftovers);

test("CMD runs in the start directory; the init's own cwd is /", async () => {
  const r = await start(["--", "sh", "-c", "readlink /proc/$PPID/cwd && readlink /proc/$$/cwd"], { cwd: "/usr" }).result(10_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("/\n/usr\n");
});

test("a relative CMD (./bin/server, bin/server, a relative PATH entry) was looked up under / once the init had left its start directory: 127 where tini and dumb-init run it (WORKDIR /app, CMD ./server)", async () => {
  const app = tempDir("vb-app-");
  mkdirSync(join(app, "bin"));
  writeFileSync(join(app, "bin", "server"), "#!/bin/sh\necho \"server $1 in $PWD\"\n", { mode: 0o755 });
  for (const pid1 of [false, true]) {
    for (const [argv, env] of [[["./bin/server", "a"], {}], [["bin/server", "b"], {}], [["server", "c"], { PATH: `bin:${process.env.PATH}` }]] as Array<[string[], Record<string, string>]>) {
      const r = await start(["--", ...argv], { cwd: app, pid1, env }).result(10_000);
      expect({ pid1, argv, code: r.code, out: r.stdout }).toEqual({ pid1, argv, code: 0, out: `server ${argv[1]} in ${app}\n` });
    }
  }
  // A relative PATH entry that does not hold the name is passed over, as execvp does.
  const t = await start(["--", "true"], { cwd: app, env: { PATH: `bin:${process.env.PATH}` } }).result(10_000);
  expect(t.code).toBe(0);
}, 60_000);

test("a directory on PATH with the command's name was 'not found' (127); execvp and tini say it cannot be executed (126)", async () => {
  const dir = tempDir("vb-path-");
  mkdirSync(join(dir, "mycmd"));
  const r = await start(["--", "mycmd"], { env: { PATH: `${dir}:/usr/bin:/bin` } }).result(10_000);
  expect(r.code).toBe(126);
  expect(r.stderr).toContain("mycmd: cannot execute (EACCES)");
});
