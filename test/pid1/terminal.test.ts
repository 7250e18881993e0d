// With a terminal on stdin the main child gets the foreground process group (job control works).
import { afterEach, expect, test } from "bun:test";
import { shipped } from "../harness/artifact.ts";
import { killLeftovers } from "./harness.ts";

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;

afterEach(killLeftovers);

test("the main child owns the terminal's foreground process group when stdin is a tty", async () => {
  // script(1) runs the init on a fresh pseudo-terminal.
  const inner = shipped(["--", "sh", "-c", "read a b c d pgrp sid tty tpgid rest < /proc/self/stat; echo pgrp=$pgrp tpgid=$tpgid pid=$$"]).map(quote).join(" ");
  const p = Bun.spawn(["script", "-qec", inner, "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
  const out = await new Response(p.stdout).text();
  clearTimeout(timer);
  const m = /pgrp=(\d+) tpgid=(\d+) pid=(\d+)/.exec(out);
  expect(m).not.toBeNull();
  expect(m![1]).toBe(m![3]!); // its own process group
  expect(m![2]).toBe(m![1]!); // which is the terminal's foreground group
  expect(await p.exited).toBe(0);
});
