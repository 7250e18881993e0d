// tini's -e, -p, -s, -l, -h and --version: tini command lines used to be refused (64) by vector-boot.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;

for (const pid1 of [false, true]) {
  describe(`-e ${pid1 ? "as PID 1" : "as a subreaper"}`, () => {
    test("-e CODE (repeatable) turns exactly those exit statuses into 0, 128+N included", async () => {
      const run = (args: string[], script: string) => start([...args, "--", "sh", "-c", script], { pid1 }).result(15_000);
      expect((await run(["-e", "3", "-e5"], "exit 3")).code).toBe(0);
      expect((await run(["-e", "3", "-e5"], "exit 5")).code).toBe(0);
      expect((await run(["-e", "3", "-e5"], "exit 4")).code).toBe(4);
      expect((await run(["--remap-exit=143"], "kill -TERM $$")).code).toBe(0);
      expect((await run(["-e", "255"], "exit 0")).code).toBe(0);
    }, 40_000);
  });
}

test("-e 127 / -e 126 did not cover a CMD that could not be started (tini's exec fails in its child, whose 127 is remapped): now it does, and the error is still said", async () => {
  const dir = tempDir();
  const r = await start(["-e", "127", "--", join(dir, "no-such-command")]).result(10_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("no-such-command: command not found (ENOENT); exit status 127 remapped to 0 (-e)");
  expect((await start(["-e", "126", "--", join(dir, "no-such-command")]).result(10_000)).code).toBe(127);
  expect((await start(["-e", "126", "--", dir]).result(10_000)).code).toBe(0); // a directory: 126
});

test("-e outside 0-255 or not a number is a usage error (64)", async () => {
  for (const v of ["256", "-1", "x", ""]) {
    const r = await start(["-e", v, "--", "true"]).result(10_000);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("-e needs an exit code 0-255");
  }
}, 40_000);

test("-p SIG: when the init's parent dies the init gets SIG and forwards it to CMD", async () => {
  const out = join(tempDir(), "pdeath.log");
  const cmd = `trap 'echo got-USR1 >> ${out}; exit 0' USR1; echo ready >> ${out}; while :; do sleep 0.02; done`;
  const init = shipped(["-p", "SIGUSR1", "--", "bash", "-c", cmd]).map(quote).join(" ");
  // A parent shell that starts the init and waits; killing it is the parent's death.
  const parent = Bun.spawn(["sh", "-c", `${init} & wait`], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  try {
    await waitFor(() => read(out).includes("ready"), 10_000, "CMD ready");
    parent.kill("SIGKILL");
    await waitFor(() => read(out).includes("got-USR1"), 10_000, "CMD to get SIGUSR1 after the parent died");
  } finally {
    parent.kill("SIGKILL");
  }
}, 30_000);

test("--constructor (a key of every object) was taken as an option and CMD ran; it is an unknown option (64)", async () => {
  for (const name of ["constructor", "toString", "__proto__"]) {
    const r = await start([`--${name}`, "--", "true"]).result(10_000);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`unknown option "--${name}"`);
  }
}, 30_000);

test("-p with something that is no signal is a usage error (64)", async () => {
  const r = await start(["-p", "SIGNOPE", "--", "true"]).result(10_000);
  expect(r.code).toBe(64);
  expect(r.stderr).toContain("-p needs a signal");
});

test("-s (tini's subreaper flag) is accepted: orphans are reaped as without it", async () => {
  const r = await start(["-s", "--", "sh", "-c", "(sleep 0.05 &); sleep 0.3; echo done"]).result(10_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("done\n");
});

test("-h, --version and -l answer without running anything, also after other options", async () => {
  const help = await start(["-g", "-h"]).result(10_000);
  expect(help.code).toBe(0);
  for (const flag of ["--rewrite", "--single-child", "--leftovers", "-e, --remap-exit", "-p, --parent-death-signal", "-w, --warn-reaped", "DUMB_INIT_SETSID"]) expect(help.stdout).toContain(flag);
  const version = await start(["-v", "--version"]).result(10_000);
  expect(version.code).toBe(0);
  expect(version.stdout).toMatch(/^vector-boot \d+\.\d+\.\d+/);
  const license = await start(["-l"]).result(10_000);
  expect(license.code).toBe(0);
  expect(license.stdout).toContain("MIT");
});
