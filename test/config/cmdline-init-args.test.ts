// Words after the kernel command line's `--` are init's arguments, not parameters: vector.* keys there are not settings.
import { expect, test } from "bun:test";
import { parseCmdline } from "../../src/config/cmdline.ts";
import { tempDir, writeJson } from "../pid1/harness.ts";
import { checkedStateDir } from "./checked-state-dir.ts";

/*
 * kernel/params.c parse_args(), after next_arg():
 *   if (!val && strcmp(param, "--") == 0) return err ?: args;
 * and init/main.c start_kernel() passes what follows (after_dashes) to init as its argv. So a bare
 * `--`, or `"--"` (next_arg() strips the quotes), ends the parameters; `--=x` has a value and does not.
 */
test("vector.* keys after the kernel's `--` were read as settings (vector.state_dir=/a -- vector.state_dir=/b gave /b, a bad one there exited 78): parameters now end at `--` as parse_args() ends them", () => {
  expect(parseCmdline("vector.heartbeat_ms=20 -- vector.heartbeat_ms=30 vector.grace_ms=5").overrides).toEqual({ heartbeat_ms: 20 });
  expect(parseCmdline('vector.heartbeat_ms=20 "--" vector.grace_ms=5').overrides).toEqual({ heartbeat_ms: 20 });
  expect(parseCmdline("--=x vector.grace_ms=5").overrides).toEqual({ grace_ms: 5 });
  expect(parseCmdline("vector.grace_ms=5 ---- vector.heartbeat_ms=7").overrides).toEqual({ grace_ms: 5, heartbeat_ms: 7 });
  // An unknown or bad key after `--` is init's argument, no error.
  expect(parseCmdline("quiet -- vector.nosuch=1 vector.heartbeat_ms=0").errors).toEqual([]);
  // --set tokens come after the command line's parameters, whatever follows its `--`.
  expect(parseCmdline("-- vector.grace_ms=1", ["vector.grace_ms=9"]).overrides).toEqual({ grace_ms: 9 });

  const cfg = writeJson(tempDir(), "c.json", { pixel_test: false });
  const check = (cmdline: string) => checkedStateDir(cfg, cmdline);
  expect(check("vector.state_dir=/srv/a -- vector.state_dir=/srv/b")).toEqual({ code: 0, state: "/srv/a", err: "" });
  expect(check('console=ttyS0 -- single vector.hostname=v"b"')).toEqual({ code: 0, state: "(default)", err: "" });
}, 60_000);
