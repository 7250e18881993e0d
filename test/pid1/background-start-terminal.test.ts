// Started in the background (`&`) of an interactive shell, tini mode gave CMD the terminal anyway: the shell lost it and exited.
import { expect, test } from "bun:test";
import { shipped } from "../harness/artifact.ts";
import { interactiveShell } from "./interactive-shell.ts";

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
const line = (args: string[]) => shipped(args).map(quote).join(" ");

test("started with & from an interactive shell, CMD took the terminal's foreground and the shell exited (its read failed with EIO); the shell keeps the terminal now", async () => {
  const s = await interactiveShell([
    { send: `${line(["--", "sh", "-c", "sleep 2; read a b c d pgrp sid tty tpgid rest < /proc/self/stat; echo pgrp=$pgrp tpgid=$tpgid"])} &\n`, expect: "\\[1\\] \\d+", timeoutMs: 10_000 },
    // The shell waits at its prompt (reading the terminal) while the init starts CMD.
    { pauseMs: 1500, send: "echo STILL-$((40+2))\n", expect: "STILL-42", timeoutMs: 10_000 },
    { send: "wait; echo WAITED-$?\n", expect: "WAITED-0", timeoutMs: 20_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 3, failure: null });
  // CMD ran in its own process group, in the background: the foreground stayed the shell's.
  const m = /pgrp=(\d+) tpgid=(\d+)/.exec(s.transcript)!;
  expect(m[2]).not.toBe(m[1]!);
}, 60_000);
