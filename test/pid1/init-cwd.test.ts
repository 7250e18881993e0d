// tini mode kept its start directory as its own cwd for CMD's whole life (a mount there stayed busy); like dumb-init it moves to / after starting CMD.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, start } from "./harness.ts";

afterEach(killLeftovers);

test("CMD runs in the start directory; the init's own cwd is /", async () => {
  const r = await start(["--", "sh", "-c", "readlink /proc/$PPID/cwd && readlink /proc/$$/cwd"], { cwd: "/usr" }).result(10_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("/\n/usr\n");
});
