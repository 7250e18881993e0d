// A daemon that forks, names its child with MAINPID= and exits: the message it sent before its exit is read before that exit is handled.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { setSubreaper } from "../../src/sys/process.ts";
import { procState } from "../harness/proc-stat.ts";

// The parent forks the daemon; the daemon sends MAINPID=<itself> and READY=1, then tells the parent,
// which exits 0 only after the datagram is in the init's socket (the order of a forking daemon).
const daemon = `
import os, socket, time
r, w = os.pipe()
if os.fork() == 0:
    os.close(r)
    open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
    addr = os.environ["NOTIFY_SOCKET"]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(("MAINPID=%d\\nREADY=1" % os.getpid()).encode(), "\\0" + addr[1:] if addr.startswith("@") else addr)
    os.write(w, b"x")
    time.sleep(600)
    os._exit(0)
os.close(w)
os.read(r, 1)
os._exit(0)
`;

const isZombie = (pid: number): boolean => procState(pid) === "Z";

test("a forking daemon whose exit was handled before its MAINPID= (sent before that exit) was read was taken as exited (its daemon left running unsupervised, or killed as a leftover with cgroups): the messages waiting are read first, and the daemon is the service's main process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-mainpid-"));
  const cfg = validateConfig({ services: [{ name: "d", argv: ["python3", "-c", daemon], env: { PID_FILE: join(dir, "daemon.pid") }, ready: { notify: true, timeout_ms: 60_000 }, no_new_privs: false, grace_ms: 2000 }] });
  // Not started: this test decides when exits are reaped (no SIGCHLD handler, no poll).
  const reaper = new Reaper();
  const sup = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env, { notifyPath: join(dir, "notify", "notify") });
  const state = () => sup.list().find((s) => s.name === "d")!;
  // The daemon is re-parented to this process, as to the init, and its end reaped here (the host's
  // PID 1 may reap late, or never).
  setSubreaper(true);
  try {
    sup.startAll();
    const parent = state().pid!;
    expect(state().state).toBe("starting");
    // Without yielding to the event loop (which would read the socket): wait for the parent to be
    // a zombie, i.e. the daemon's datagram is queued, then handle its exit at once.
    const end = performance.now() + 30_000;
    while (!isZombie(parent)) {
      if (performance.now() > end) throw new Error("the daemon's parent never exited");
      Bun.sleepSync(5);
    }
    reaper.reapNow();
    reaper.start(20);
    const now = state();
    expect({ state: now.state, isDaemon: now.pid !== null && now.pid !== parent }).toEqual({ state: "running", isDaemon: true });
    await sup.stopAll();
    expect(state().state).toBe("stopped");
  } finally {
    setSubreaper(false);
    reaper.stop();
    // The old code left the daemon running, unsupervised.
    try {
      process.kill(Number(readFileSync(join(dir, "daemon.pid"), "utf8")), "SIGKILL");
    } catch {
      /* gone, or never started */
    }
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
