// tini mode: an inherited anon-inode descriptor (eventfd, epoll, pidfd) was kept from CMD, taken for one of the runtime's own.
import { afterEach, expect, test } from "bun:test";
import { exe, hidden, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { killLeftovers } from "./harness.ts";
import { referenceInits } from "./reference-inits.ts";

afterEach(killLeftovers);

// The caller: an eventfd at 20, an epoll (watching a pipe of its own) at 21 and a pidfd at 22, all
// inheritable, then the init with CMD; once it is done, what CMD added to the eventfd.
const parent = `
import os, select, sys
ev = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC); ep = select.epoll(); pfd = os.pidfd_open(os.getpid())
r, w = os.pipe(); ep.register(r, select.EPOLLIN)
for src, dst in ((ev, 20), (ep.fileno(), 21), (pfd, 22)):
    os.dup2(src, dst, inheritable=True)
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, st = os.waitpid(pid, 0)
try:
    count = os.eventfd_read(20)
except BlockingIOError:
    count = 0
print("status", os.waitstatus_to_exitcode(st), "count", count)
`;

// CMD: adds 7 to the eventfd, then (as a shell, which holds no descriptor of its own without a pipe) lists its descriptors and what 20-22 are.
const cmd = `
import os
try:
    os.eventfd_write(20, 7)
except OSError as e:
    print("eventfd_write:", e.strerror)
os.execvp("sh", ["sh", "-c", "ls /proc/$$/fd; readlink /proc/$$/fd/20 /proc/$$/fd/21 /proc/$$/fd/22"])
`;

function run(init: string[], pid1: boolean): { code: number | null; out: string; err: string } {
  const r = Bun.spawnSync(["python3", "-c", parent, ...hidden([...init, "python3", "-c", cmd], { pid1 })], { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: shippedDir, env: shippedEnv(), timeout: 30_000 });
  return { code: r.exitCode, out: r.stdout.toString().trim().split(/\s+/).join(" "), err: r.stderr.toString() };
}

test("an eventfd, epoll and pidfd the init inherited (fds 20-22) were not passed to CMD (taken for the runtime's own anon inodes: EBADF on the eventfd) where tini and dumb-init pass them; now CMD gets each, the same eventfd, and none of the init's own", () => {
  const references = referenceInits();
  for (const pid1 of [false, true]) {
    for (const [name, init] of [["vector-boot", [exe, "--"]] as [string, string[]], ...references]) {
      const r = run(init, pid1);
      expect({ name, pid1, code: r.code, out: r.out, err: r.code === 0 ? "" : r.err }).toEqual({
        name,
        pid1,
        code: 0,
        out: "0 1 2 20 21 22 anon_inode:[eventfd] anon_inode:[eventpoll] anon_inode:[pidfd] status 0 count 7",
        err: "",
      });
    }
  }
}, 120_000);
