// ctrl-Z at the terminal stopped CMD (the terminal's foreground group) but not the init: the shell hung on a job it never saw stop.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { tempDir } from "./harness.ts";
import { interactiveShell } from "./interactive-shell.ts";

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
const line = (args: string[]) => shipped(args).map(quote).join(" ");

test("ctrl-Z stopped CMD and left the init running, so the shell hung (and ctrl-C reached nothing); now the init stops too, the shell shows the job stopped, fg resumes CMD with the terminal", async () => {
  const s = await interactiveShell([
    { send: `${line(["--", "sh", "-c", "echo STARTED-$((1+1)); exec sleep 30"])}\n`, expect: "STARTED-2", timeoutMs: 10_000 },
    { pauseMs: 300, send: "\x1a", expect: "Stopped", timeoutMs: 10_000 },
    { send: "fg\n", expect: "sleep 30", timeoutMs: 10_000 },
    // Back in the foreground with the terminal: ctrl-C reaches CMD, which dies of SIGINT (130).
    { pauseMs: 500, send: "\x03", expect: "PROMPT> ", timeoutMs: 10_000 },
    { send: "echo STATUS-$?\n", expect: "STATUS-130", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 5, failure: null });
}, 90_000);

test("started with &, CMD that reads the terminal was stopped by SIGTTIN and the init never stopped, so the shell showed it running forever; now the job shows stopped and fg gives CMD the terminal", async () => {
  const s = await interactiveShell([
    { send: `${line(["--", "sh", "-c", "read x; echo READ-$x"])} &\n`, expect: "\\[1\\] \\d+", timeoutMs: 10_000 },
    { pauseMs: 1500, send: "jobs\n", expect: "Stopped", timeoutMs: 10_000 },
    { send: "fg\n", expect: "read x", timeoutMs: 10_000 },
    { pauseMs: 500, send: "hello\n", expect: "READ-hello", timeoutMs: 10_000 },
    { send: "echo STATUS-$?\n", expect: "STATUS-0", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 5, failure: null });
}, 90_000);

test("SIGTSTP sent to the init (not from the terminal) stops the job once: after fg CMD runs on with the terminal, the stop it had before the SIGCONT does not stop the init again", async () => {
  const s = await interactiveShell([
    // CMD sends the init SIGTSTP: the init forwards it (CMD stops) and stops itself.
    { send: `${line(["--", "sh", "-c", "kill -TSTP $PPID; sleep 1; echo RESUMED-$((2+2)); exec sleep 30"])}\n`, expect: "Stopped", timeoutMs: 10_000 },
    { send: "fg\n", expect: "RESUMED-4", timeoutMs: 10_000 },
    { pauseMs: 1000, send: "\x03", expect: "PROMPT> ", timeoutMs: 10_000 },
    { send: "echo STATUS-$?\n", expect: "STATUS-130", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 4, failure: null });
}, 90_000);

test("after ctrl-Z (which stops CMD's whole process group), fg resumes the whole group, not CMD alone", async () => {
  const ticker = `i=0; while :; do i=$((i+1)); echo TICK-$i; sleep 0.2; done`;
  const s = await interactiveShell([
    { send: `${line(["--", "sh", "-c", `sh -c '${ticker}' & wait`])}\n`, expect: "TICK-2", timeoutMs: 10_000 },
    { send: "\x1a", expect: "Stopped", timeoutMs: 10_000 },
    // The grandchild ticks again: its group got the SIGCONT.
    { send: "fg\n", expect: "TICK-\\d+\\r\\nTICK-\\d+", timeoutMs: 10_000 },
    { send: "\x03", expect: "PROMPT> ", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 4, failure: null });
}, 90_000);

test("ctrl-Z with the init run from a script (not alone in its job's process group): the init stopped alone, the script ran on waiting for it and the shell hung; now the whole job stops, fg resumes it and the script goes on after CMD", async () => {
  const s = await interactiveShell([
    { send: `sh -c ${quote(`${line(["--", "sh", "-c", "echo STARTED-$((1+1)); exec sleep 30"])}; echo AFTER-$((3+3))`)}\n`, expect: "STARTED-2", timeoutMs: 10_000 },
    { pauseMs: 300, send: "\x1a", expect: "Stopped", timeoutMs: 10_000 },
    { send: "fg\n", expect: "sh -c", timeoutMs: 10_000 },
    // ctrl-C reaches CMD (it holds the terminal again), the init exits 130, the script goes on.
    { pauseMs: 500, send: "\x03", expect: "AFTER-6", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 4, failure: null });
}, 90_000);

test("a CMD whose exec failed after it took the terminal (a #! interpreter that does not exist) left the terminal with its dead group: the script that ran the init stopped at its next read; now the terminal is the script's again", async () => {
  const bad = join(tempDir("bad-shebang-"), "bad");
  writeFileSync(bad, "#!/nonexistent/interpreter\n", { mode: 0o755 });
  const s = await interactiveShell([
    { send: `sh -c ${quote(`${line(["--", bad])}; echo EXIT-$?; read x; echo GOT-$x`)}\n`, expect: "EXIT-\\d+", timeoutMs: 10_000 },
    { pauseMs: 300, send: "hello\n", expect: "GOT-hello", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 2, failure: null });
}, 90_000);

test("with -v and `stty tostop`, started in the background, the init stopped itself on its first line (the count of inherited descriptors) before CMD started; now it writes it and runs CMD", async () => {
  const out = join(tempDir("tostop-"), "ran");
  const s = await interactiveShell([
    { send: "stty tostop; exec 5</dev/null 6</dev/null\n", expect: "PROMPT> ", timeoutMs: 10_000 },
    { send: `${line(["-v", "--", "sh", "-c", `echo yes > ${out}`])} & wait $!; echo WAITED-$?\n`, expect: "WAITED-0", timeoutMs: 10_000 },
    { send: `cat ${out}\n`, expect: "yes", timeoutMs: 10_000 },
  ]);
  expect({ done: s.done, failure: s.failure, transcript: s.transcript }).toMatchObject({ done: 3, failure: null });
}, 90_000);
