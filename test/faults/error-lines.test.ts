// The one error line the executable prints: a cause whose text the message already quotes was printed again ("X <- caused by: TypeError: X").
import { expect, test } from "bun:test";
import { runShipped } from "../harness/artifact.ts";

test("an unknown option of journal, pack or status printed the parser's message twice (once quoted, once as its cause); each is said once, deeper causes still follow", () => {
  for (const args of [["journal", "inspect", "--state-dir", "/x"], ["pack", "--bogus"], ["status", "--bogus"]]) {
    const r = runShipped(args);
    expect({ args, code: r.code }).toEqual({ args, code: 64 });
    const line = r.stderr.trim().split("\n").at(-1)!;
    expect(line.match(/Unknown option/g)).toHaveLength(1);
    expect(line).not.toContain("caused by");
  }
  // A cause that adds something is still shown.
  const s = runShipped(["status", "--socket", "/nonexistent/control"]);
  expect(s.code).toBe(71);
  expect(s.stderr).toContain("<- caused by: Error: connect ENOENT /nonexistent/control");
});

test("journal's option errors named no --help to read, and the parser's advice on '-' positionals left a quote open; every command's unknown option now reads the same way", () => {
  const cases: Array<[string[], string]> = [
    [["journal", "inspect", "--bogus"], "journal"],
    [["journal", "bogus"], "journal"],
    [["pack", "--bogus"], "pack"],
    [["status", "--bogus"], "status"],
    [["mutate", "--bogus"], "mutate"],
    [["top", "--bogus"], "top"],
    [["fleet", "status", "--bogus"], "fleet"],
    [["fleet", "gc", "--bogus"], "fleet"],
  ];
  for (const [args, help] of cases) {
    const r = runShipped(args);
    const line = r.stderr.trim().split("\n").at(-1)!;
    expect({ args, code: r.code, end: line.replace(/ exit=\d+$/, "").endsWith(`(see vector-boot ${help} --help)`), advice: line.includes("To specify") }).toEqual({ args, code: 64, end: true, advice: false });
  }
});
