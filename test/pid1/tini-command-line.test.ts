// tini mode's command line as dumb-init's and tini's: CMD at the first word that is no option, `--` optional after an option.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir } from "./harness.ts";

afterEach(killLeftovers);

test("`vector-boot -c sh -c 'exit 3'` exited 64 where dumb-init and tini run CMD: CMD now starts at the first word that is no option (its own dash options are CMD's), options with a value consume it, `--` still works, unknown options stay 64", async () => {
  const dir = tempDir("vb-cmdline-");
  const exit3 = join(dir, "exit3");
  writeFileSync(exit3, "#!/bin/sh\nexit 3\n");
  chmodSync(exit3, 0o755);
  // The references: dumb-init takes CMD's dash options as CMD's; tini (GNU getopt) only a CMD without them.
  const references: Array<[string[], number]> = [];
  if (existsSync("/usr/bin/dumb-init")) references.push([["/usr/bin/dumb-init", "-c", "sh", "-c", "exit 3"], 3], [["/usr/bin/dumb-init", "-c", exit3], 3], [["/usr/bin/dumb-init", "-r", "15:2", exit3], 3]);
  if (existsSync("/usr/bin/tini")) references.push([["/usr/bin/tini", "-s", exit3], 3], [["/usr/bin/tini", "-s", "-e", "3", exit3], 0], [["/usr/bin/tini", "-p", "SIGTERM", exit3], 3]);
  for (const [argv, code] of references) {
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: 15_000 });
    expect({ argv, code: r.exitCode }).toEqual({ argv, code });
  }
  const cases: Array<[string[], number, string?]> = [
    [["-c", "sh", "-c", "exit 3"], 3],
    [["-s", exit3], 3],
    [["-g", "sh", "-c", 'echo "$*"', "sh", "-g", "daemon off;"], 0, "-g daemon off;\n"], // ENTRYPOINT ["vector-boot", "-g"] + CMD ["nginx", "-g", ...]
    [["-e", "3", exit3], 0],
    [["-e3", exit3], 0],
    [["-p", "SIGTERM", exit3], 3],
    [["-r", "15:2", exit3], 3],
    [["--grace", "100", exit3], 3],
    [["--grace=100", "--leftovers", "term-exit", exit3], 3],
    [["-vw", "-c", "sh", "-c", "exit 4"], 4],
    [["-s", "--", "sh", "-c", "exit 5"], 5],
    [["-s", "sh", "-c", "exit 6", "--", "x"], 6], // a `--` after CMD is CMD's
    [["-Z", "sh"], 64],
    [["--nope", "sh"], 64],
    [["-e", "--", "sh"], 64],
    [["-s", "--"], 64],
    [["-v"], 64], // no command, as before
    [["--grace"], 64],
  ];
  for (const [args, code, out] of cases) {
    const r = await start(args).result(15_000);
    expect({ args, code: r.code, ...(out === undefined ? {} : { out: r.stdout }) }).toEqual({ args, code, ...(out === undefined ? {} : { out }) });
  }
  // As PID 1 too.
  expect((await start(["-c", "sh", "-c", "exit 3"], { pid1: true }).result(15_000)).code).toBe(3);
  // Unchanged: the help and the version, and a first word that is no option is a command.
  const help = await start(["-h"]).result(15_000);
  expect({ code: help.code, usage: help.stdout.includes("Usage:") }).toEqual({ code: 0, usage: true });
  const version = await start(["--version"]).result(15_000);
  expect({ code: version.code, out: version.stdout.length > 0 }).toEqual({ code: 0, out: true });
  expect((await start(["-g", "-h", "sh"]).result(15_000)).code).toBe(0);
  const notCommand = await start(["sh", "-c", "exit 3"]).result(15_000);
  expect({ code: notCommand.code, err: notCommand.stderr.includes('unknown command "sh"') }).toEqual({ code: 64, err: true });
}, 120_000);
