// An interactive bash on a fresh pseudo-terminal, driven line by line: job control (&, ctrl-Z, fg) as a user at a terminal sees it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { shippedEnv } from "../harness/artifact.ts";
import { tempDir } from "./harness.ts";

/**
 * Wait `pauseMs` (reading what comes), send `send` (bytes as text: "\x1a" is ctrl-Z), then read until
 * `expect` matches what came since, or `timeoutMs` passes.
 */
export interface Step {
  pauseMs?: number;
  send: string;
  expect: string;
  timeoutMs: number;
}

export interface Session {
  /** Steps done before one timed out or the shell went away (all of them: every expectation met). */
  done: number;
  /** Everything the terminal showed. */
  transcript: string;
  /** Why it stopped early: "timeout" (step `done`'s expectation not seen) or "eof" (the shell exited). */
  failure: "timeout" | "eof" | null;
}

// Python's pty module: bash gets a terminal of its own as its controlling terminal (job control on).
const driver = `
import json, os, pty, re, select, sys, time
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
seen = b""
def until(pattern, ms):
    global seen
    start = len(seen)
    end = time.time() + ms / 1000
    while True:
        if re.search(pattern.encode(), seen[start:]):
            return None
        left = end - time.time()
        if left <= 0:
            return "timeout"
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                b = os.read(fd, 4096)
            except OSError:
                b = b""
            if not b:
                return "eof"
            seen += b
done, failure = 0, None
os.write(fd, b"PS1='PROMPT> '; bind 'set enable-bracketed-paste off' 2>/dev/null\\n")
failure = until("PROMPT> $", 10000)
for s in steps if failure is None else []:
    if s.get("pauseMs") and until("(?!)", s["pauseMs"]) == "eof":
        failure = "eof"
        break
    os.write(fd, s["send"].encode())
    failure = until(s["expect"], s["timeoutMs"])
    if failure:
        break
    done += 1
# bash and every job it started (the whole session: the init, CMD and CMD's group).
for n in os.listdir("/proc"):
    try:
        stat = open("/proc/%s/stat" % n).read()
        if n.isdigit() and int(stat.rsplit(")", 1)[1].split()[3]) == pid:
            os.kill(int(n), 9)
    except (OSError, ValueError, IndexError):
        pass
print(json.dumps({"done": done, "failure": failure, "transcript": seen.decode("utf-8", "replace")}))
`;

/** Runs the steps in an interactive bash on a new terminal; the bash and its jobs are killed at the end. */
export async function interactiveShell(steps: Step[]): Promise<Session> {
  const script = join(tempDir("pty-"), "drive.py");
  writeFileSync(script, driver);
  const budget = steps.reduce((t, s) => t + s.timeoutMs, 15_000);
  const p = Bun.spawn(["python3", script, JSON.stringify(steps)], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: shippedEnv({ HISTFILE: "/dev/null", TERM: "dumb" }) });
  const timer = setTimeout(() => p.kill("SIGKILL"), budget);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  await p.exited;
  try {
    return JSON.parse(out) as Session;
  } catch {
    throw new Error(`the terminal driver failed: ${err || out}`);
  }
}
