// /proc/cmdline is split into parameters on its bytes, as the kernel splits it, and only then decoded: a raw 0xA0 separates.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { cmdlineText, tokenizeCmdline, type CmdlineParam } from "../../src/config/cmdline.ts";
import { exe } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { bootWithBindMount } from "./bind-mounted-boot.ts";

afterEach(killLeftovers);

/*
 * The kernel's isspace() (include/linux/ctype.h, lib/ctype.c _ctype) is true for bytes 0x09-0x0D,
 * 0x20 and 0xA0 (`_S|_SP` at 160: Latin-1's no-break space); next_arg() (lib/cmdline.c) ends a
 * parameter at one outside quotes and skip_spaces() skips them. The line is bytes, not UTF-8.
 */
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));
const P = (param: string, value: string | null = null): CmdlineParam => ({ param, value });
const lines: [string, Buffer, CmdlineParam[]][] = [
  ["a raw A0 separates", bytes("vector.a=1", [0xa0], "vector.b=2\n"), [P("vector.a", "1"), P("vector.b", "2")]],
  ["raw A0s lead, trail and run", bytes([0xa0, 0x20, 0xa0], "vector.a=1", [0xa0, 0xa0, 0x09], "x", [0xa0]), [P("vector.a", "1"), P("x")]],
  ["a quoted raw A0 stays in the value (not UTF-8: U+FFFD)", bytes('vector.a="x', [0xa0], 'y" z'), [P("vector.a", "x\ufffdy"), P("z")]],
  ["UTF-8 values are decoded", bytes("vector.state_dir=/srv/é vector.b=ü"), [P("vector.state_dir", "/srv/é"), P("vector.b", "ü")]],
  ["C2 A0 splits after C2", bytes("vector.a=x", [0xc2, 0xa0], "vector.b=y"), [P("vector.a", "x\ufffd"), P("vector.b", "y")]],
  // U+2020 is E2 80 A0: the kernel splits a dagger too.
  ["a dagger splits after E2 80", bytes("vector.a=x†vector.b=y"), [P("vector.a", "x\ufffd"), P("vector.b", "y")]],
  ["a quoted dagger stays", bytes('vector.a="x†y"'), [P("vector.a", "x†y")]],
  ["other bytes that are not UTF-8 stay, as U+FFFD", bytes("vector.a=", [0xff, 0x85], "x"), [P("vector.a", "\ufffd\ufffdx")]],
  ["a NUL ends the line", bytes("vector.a=1 ", [0], " vector.b=2"), [P("vector.a", "1")]],
];

test.each(lines)("/proc/cmdline bytes: %s", (_name, line, expected) => {
  expect(tokenizeCmdline(line)).toEqual(expected);
  // The text a boot keeps (and hands to `boot --check` at a live re-exec) splits the same way.
  expect(tokenizeCmdline(cmdlineText(line))).toEqual(expected);
});

/** Boots the shipped executable as PID 1 with `file` bind-mounted over /proc/cmdline (no --cmdline: it reads /proc/cmdline). */
async function bootWithProcCmdline(file: string): Promise<{ code: number; stderr: string }> {
  const boot = [exe, "boot", ...bootArgs(), "--set", "pixel_test=false"];
  return bootWithBindMount("/proc/cmdline", file, boot, { VECTOR_BOOT_CMDLINE: "", JSC_SIGNAL_FOR_GC: "40" }, 30_000);
}

test("a raw 0xA0 byte in /proc/cmdline (a space to the kernel) was decoded as U+FFFD and joined its neighbours: vector.heartbeat_ms=33<A0>vector.log_level=debug was one bad value; as PID 1 both keys are now read, and UTF-8 values still work", async () => {
  const dir = tempDir();
  const file = join(dir, "cmdline");
  const state = join(dir, "état");
  writeFileSync(file, bytes(`console=ttyS0 vector.shutdown_after=0.5 vector.run_dir=${join(dir, "run")} vector.heartbeat_ms=33`, [0xa0], `vector.log_level=debug vector.state_dir=${state}\n`));
  const r = await bootWithProcCmdline(file);
  expect(r.stderr).toContain("phase config");
  expect(r.stderr).not.toContain("invalid setting ignored");
  expect(r.stderr).toMatch(/phase config .*heartbeat_ms=33/);
  // log_level=debug took effect: debug lines are logged.
  expect(r.stderr).toContain(" DEBUG ");
  expect(r.stderr).toContain(`state_dir=${state}`);
}, 60_000);
