// A config or model path that names a FIFO, a directory or a device: the init hung in open() on a FIFO (a config at
// boot, as PID 1 too) and took a directory as an internal error (70); it refuses each with the path named.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { mkfifo } from "../harness/fifo.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("--model naming a FIFO hung the boot in open(); a directory was an internal error (70): both exit 1 naming what they are", async () => {
  const dir = join(tempDir(), "a-dir");
  mkdirSync(dir);
  for (const [path, what] of [[mkfifo(tempDir()), "a FIFO"], [dir, "a directory"], ["/dev/zero", "a character device"]] as const) {
    const r = await start(["boot", "--model", path, "--set", "shutdown_after=0.3"]).result(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read model ${path}`);
    expect(r.stderr).toContain(`${path} is ${what}, not a regular file`);
  }
}, 40_000);

test("a config that is a FIFO hung the boot in open(), as PID 1 too: refused (78) outside PID 1; PID 1 logs it and boots on the defaults", async () => {
  const path = mkfifo(tempDir());
  const dev = await start(["boot", ...bootArgs(), "--config", path, "--set", "shutdown_after=0.3"]).result(10_000);
  expect(dev.code).toBe(78);
  expect(dev.stderr).toContain(`${path} is a FIFO, not a regular file`);
  const pid1 = await start(["boot", ...bootArgs(), "--config", path, "--set", "shutdown_after=0.5"], { pid1: true }).result(15_000);
  expect(pid1.stderr).toContain("invalid setting ignored, default used");
  expect(pid1.stderr).toContain(`${path} is a FIFO, not a regular file`);
  expect(pid1.stderr).toContain("first heartbeat");
  expect(pid1.stderr).toContain("poweroff now");
}, 40_000);
