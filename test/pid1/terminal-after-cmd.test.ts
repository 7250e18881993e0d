// The init's own writes to a terminal CMD holds under `stty tostop`, and the terminal after CMD exits: a script that ran the init keeps its terminal.
import { expect, test } from "bun:test";
import { shipped } from "../harness/artifact.ts";
import { interactiveShell } from "./interactive-shell.ts";

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
const line = (args: string[]) => shipped(args).map(quote).join(" ");

test("under `stty tostop` the init's own log line to the terminal CMD held raised SIGTTOU on every try: the init spun at 90 % CPU for ever and CMD stayed a zombie; it writes, reaps and exits with CMD's status", async () => {
  const s = await interactiveShell([
    { send: "stty tostop; echo TOSTOP-ON\n", expect: "TOSTOP-ON\\r?\\n", timeoutMs: 10_000 },
    { send: `${line(["-v", "--", "sh", "-c", "sleep 0.3; exit 3"])}; echo STATUS-$?\n`, expect: "STATUS-3", timeoutMs: 15_000 },
    { send: "stty -tostop; echo DONE-$((1+1))\n", expect: "DONE-2", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 3, failure: null });
  expect(s.transcript).toContain("main child exited");
}, 90_000);

test("a script that ran the init (`bash -c`, no job control) was left in the background of its own terminal after CMD exited: its next read stopped it (SIGTTIN); the terminal comes back to it", async () => {
  const script = `${line(["--", "true"])}; echo AFTER-$((2+2)); read x; echo GOT-$x`;
  const s = await interactiveShell([
    { send: `bash -c ${quote(script)}\n`, expect: "AFTER-4", timeoutMs: 15_000 },
    { pauseMs: 500, send: "hello\n", expect: "GOT-hello", timeoutMs: 10_000 },
    { send: "echo STATUS-$?\n", expect: "STATUS-0", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 3, failure: null });
}, 90_000);

test("CMD holding the terminal that stopped itself with SIGSTOP (bash's `suspend`) was not followed: the init ran on, the outer shell never got its prompt back; the job shows stopped, and fg resumes CMD with the terminal", async () => {
  const s = await interactiveShell([
    { send: `${line(["--", "bash", "--norc", "--noprofile", "-i"])}\n`, expect: "[#$] $", timeoutMs: 15_000 },
    { pauseMs: 300, send: "suspend\n", expect: "Stopped", timeoutMs: 10_000 },
    { send: "echo OUTER-$((3+3))\n", expect: "OUTER-6", timeoutMs: 10_000 },
    { send: "fg\n", expect: "bash", timeoutMs: 10_000 },
    { pauseMs: 300, send: "echo INNER-$((4+4))\n", expect: "INNER-8", timeoutMs: 10_000 },
    { send: "exit 5\n", expect: "PROMPT> ", timeoutMs: 10_000 },
    { send: "echo STATUS-$?\n", expect: "STATUS-5", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 7, failure: null });
}, 120_000);
