// The kernel command line is split into parameters as the kernel's next_arg() (lib/cmdline.c) splits it: quotes and spaces.
import { describe, expect, test } from "bun:test";
import { tokenizeCmdline, type CmdlineParam } from "../../src/config/cmdline.ts";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { tempDir, writeJson } from "../pid1/harness.ts";
import { checkedStateDir } from "./checked-state-dir.ts";

/*
 * Each expected result is derived from next_arg() in the kernel's lib/cmdline.c, as called by
 * parse_args() (kernel/params.c: skip_spaces() first, then next_arg() until the end):
 *
 *   if (*args == '"') { args++; in_quote = 1; quoted = 1; }
 *   for (i = 0; args[i]; i++) {
 *     if (isspace(args[i]) && !in_quote) break;
 *     if (equals == 0) { if (args[i] == '=') equals = i; }
 *     if (args[i] == '"') in_quote = !in_quote;
 *   }
 *   *param = args;
 *   if (!equals) *val = NULL;
 *   else { args[equals] = '\0'; *val = args + equals + 1;
 *          if (**val == '"') { (*val)++; if (args[i-1] == '"') args[i-1] = '\0'; } }
 *   if (quoted && i > 0 && args[i-1] == '"') args[i-1] = '\0';
 *   ... then skip_spaces() past the separator.
 *
 * isspace() is the kernel's ctype (lib/ctype.c _ctype, _S): \t \n \v \f \r, space, and byte 0xA0.
 * The line is bytes: a UTF-8 character is its bytes (U+00A0 is C2 A0, U+2003 is E2 80 83).
 */
const P = (param: string, value: string | null = null): CmdlineParam => ({ param, value });
const cases: [string, string, CmdlineParam[]][] = [
  // '=' found, value begins with '"': that quote skipped, and the last byte (a quote) cut.
  ["quoted value", 'vector.a="x y"', [P("vector.a", "x y")]],
  // Value does not begin with '"' and the param is not quoted: no quote is removed.
  ["inner quotes stay", 'vector.a=x"y"z', [P("vector.a", 'x"y"z')]],
  // The inner quote toggles in_quote, so the space between the quotes does not end the param.
  ["quotes inside group spaces and stay", 'vector.a=x"y z"w rest', [P("vector.a", 'x"y z"w'), P("rest")]],
  // Leading quote of the whole param: skipped (quoted = 1); last byte '"' cut by the `quoted` rule.
  ["whole param quoted", '"vector.a=x y"', [P("vector.a", "x y")]],
  // Quoted param whose closing quote is before the '=': that quote stays in the param (only the last byte is looked at).
  ["quoted name", '"vector.a"=x', [P('vector.a"', "x")]],
  // Value's opening quote skipped; the last byte is 'y', not a quote: nothing else removed.
  ["opening quote only", 'vector.a="x"y', [P("vector.a", 'x"y')]],
  // Unterminated quote: in_quote to the end of the line, spaces included.
  ["unterminated quote runs to the end", 'vector.a="x y z', [P("vector.a", "x y z")]],
  ["empty quoted value", 'vector.a=""', [P("vector.a", "")]],
  // **val == '"' skipped, then args[i-1] is that same quote: cut, value empty.
  ["a lone quote as value", 'vector.a="', [P("vector.a", "")]],
  ["trailing quote without an opening one stays", 'vector.a=x"', [P("vector.a", 'x"')]],
  ["bare key: val NULL", "vector.a", [P("vector.a", null)]],
  ["empty value", "vector.a=", [P("vector.a", "")]],
  ["first '=' splits", "vector.a=b=c", [P("vector.a", "b=c")]],
  // equals == 0 means 'none': an '=' at index 0 is passed over and the next one taken.
  ["'=' at index 0 is not the split", "=vector.a=1", [P("=vector.a", "1")]],
  // Opening quote skipped; in_quote closed by the quote after '=', so the space ends the param at `vector.a="x`.
  ["a quote inside a quoted param closes it", '"vector.a="x y""', [P("vector.a", "x"), P('y""')]],
  // A lone quote: skipped, then nothing (i == 0): an empty param.
  ["a lone quote", '"', [P("")]],
  ["every ASCII space separates, runs of them too", "\tvector.a=1\n\u000bvector.b=2\f\rvector.c=3  ", [P("vector.a", "1"), P("vector.b", "2"), P("vector.c", "3")]],
  // E2 80 83, E3 80 80: no byte of them is a kernel space.
  ["an em space or ideographic space does not separate", "vector.a=x\u2003vector.b=y\u3000z", [P("vector.a", "x\u2003vector.b=y\u3000z")]],
  // C2 A0: byte A0 is a space to the kernel; C2 stays at the end of the value (not UTF-8 alone: U+FFFD).
  ["a no-break space splits after its first byte", "vector.a=x\u00a0vector.b=y", [P("vector.a", "x\ufffd"), P("vector.b", "y")]],
  // EF BB BF: not a space; the param is then not `vector.a`.
  ["a byte order mark is part of the param", "\ufeffvector.a=1", [P("\ufeffvector.a", "1")]],
];

describe("kernel command line parameters as next_arg() splits them", () => {
  test.each(cases)("%s: %j", (_name, line, expected) => {
    expect(tokenizeCmdline(line)).toEqual(expected);
  });
});

test("every double quote of a kernel command line was dropped and any Unicode space split it (vector.state_dir=/srv/x\"y\"z became /srv/xyz): parameters are now what the kernel's next_arg() makes of them", () => {
  const cfg = writeJson(tempDir(), "c.json", { pixel_test: false });
  const stateOf = (cmdline: string) => checkedStateDir(cfg, cmdline);
  expect(stateOf('vector.state_dir=/srv/x"y"z')).toEqual({ code: 0, state: '/srv/x"y"z', err: "" });
  expect(stateOf('vector.state_dir=/srv/a"b c"d quiet')).toEqual({ code: 0, state: '/srv/a"b c"d', err: "" });
  expect(stateOf('"vector.state_dir=/srv/p q"')).toEqual({ code: 0, state: "/srv/p q", err: "" });
  // An em space is no separator to the kernel: one parameter, so no vector.hostname was given.
  expect(stateOf("vector.state_dir=/srv/a\u2003vector.hostname=h")).toEqual({ code: 0, state: "/srv/a\u2003vector.hostname=h", err: "" });
  // A quote the kernel keeps makes a host name invalid: refused naming the key (the old code took `vb`).
  const bad = runShipped(["boot", "--check", "--config", cfg, "--cmdline", 'vector.hostname=v"b"', ...bootArgs()], { timeoutMs: 20_000 });
  expect(bad.code).toBe(78);
  expect(bad.stderr).toContain('kernel command line vector.hostname: bad value "v\\"b\\""');
}, 60_000);
