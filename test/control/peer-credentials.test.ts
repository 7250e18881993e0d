// SO_PEERCRED: a throwaway non-root user reaches the socket file but is refused by the credential check.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ControlServer } from "../../src/control/server.ts";
import { exe, hidden } from "../harness/artifact.ts";
import { createSystemUser } from "../harness/system-user.ts";
import { roundTrip, StubTarget, tempDir } from "./harness.ts";

const user = `vbtest-${process.pid % 100000}`;
let uid = -1;
let gid = -1;

/** Runs argv as the throwaway user (no supplementary groups); async, so the server in this process keeps running. */
async function asUser(argv: string[], opts: { hide?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  const asIt = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "env", "HOME=/tmp", "TMPDIR=/tmp", ...argv];
  // `hide`: the checkout hidden (as root, before setpriv), run from / (a working directory in the checkout stays readable).
  const p = Bun.spawn(opts.hide ? hidden(asIt) : asIt, { stdout: "pipe", stderr: "pipe", ...(opts.hide ? { cwd: "/" } : {}) });
  const timer = setTimeout(() => p.kill(9), 15_000);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}

const py = (path: string, op: string) => asUser(["/usr/bin/python3", join(import.meta.dir, "../../python/vector_boot_evolution/control.py"), "--socket", path, op]);

/** A server whose directory (0755) and socket (0666) every user can reach: only SO_PEERCRED stands in the way. */
function openServer(allowGid: number | null): { server: ControlServer; path: string } {
  const dir = tempDir("vb-peercred-");
  chmodSync(dir, 0o755);
  const path = join(dir, "run", "control");
  return { server: new ControlServer({ target: new StubTarget(), path, allowGid, socketMode: 0o666, dirMode: 0o755 }), path };
}

let removeUser = () => {};

beforeAll(() => {
  const u = createSystemUser(user);
  ({ uid, gid } = u);
  removeUser = u.remove;
});

afterAll(() => removeUser());

describe("control socket peer credentials", () => {
  // Each test spawns a client as another user (python3 or bun start-up included).
  test("a non-root user who can open the socket file is refused by SO_PEERCRED (Python client)", async () => {
    const { server, path } = openServer(null);
    try {
      const r = await py(path, "status");
      expect(r.code).toBe(1);
      const err = JSON.parse(r.err);
      expect(err.code).toBe("permission_denied");
      expect(err.message).toContain("SO_PEERCRED");
      expect(err.message).toContain(`uid ${uid}`);
      expect(server.stats().refused).toBe(1);
    } finally {
      server.close();
    }
  });

  test("the operator CLI run by a non-root user says permission denied by SO_PEERCRED and exits 71", async () => {
    const { server, path } = openServer(null);
    try {
      // The shipped executable, checkout hidden; the user's own copy (the shipped one sits in a directory only root can enter).
      const own = join(tempDir("vb-peercred-exe-"), "vector-boot");
      chmodSync(dirname(own), 0o755);
      copyFileSync(exe, own);
      chmodSync(own, 0o755);
      const r = await asUser([own, "status", "--socket", path], { hide: true });
      expect(r.err).toContain("permission_denied");
      expect(r.err).toContain("SO_PEERCRED");
      expect(r.code).toBe(71);
    } finally {
      server.close();
    }
  });

  test("the same user is let in when the server allows its group (so the refusal above came from the check)", async () => {
    const { server, path } = openServer(gid);
    try {
      const r = await py(path, "status");
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ version: "test" });
    } finally {
      server.close();
    }
  });

  test("control group members holding every connection slot (idle, pinged now and then) locked root out: root still gets its own slots", async () => {
    const dir = tempDir("vb-peercred-");
    chmodSync(dir, 0o755);
    const path = join(dir, "run", "control");
    const server = new ControlServer({ target: new StubTarget(), path, allowGid: gid, socketMode: 0o666, dirMode: 0o755, maxConnections: 3 });
    // The member: 4 connections, a ping on each; it prints what each got and holds them until stdin closes.
    const hold = [
      "import socket, sys",
      "conns = []",
      "for i in range(4):",
      "    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{\"op\":\"ping\"}\\n'); s.settimeout(10)",
      "    conns.append(s); print(s.recv(4096).decode().strip(), flush=True)",
      "print('held', flush=True)",
      "sys.stdin.read()",
    ].join("\n");
    const p = Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "/usr/bin/python3", "-c", hold, path], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => p.kill(9), 15_000);
    try {
      let out = "";
      const dec = new TextDecoder();
      for await (const chunk of p.stdout) if ((out += dec.decode(chunk)).includes("held\n")) break;
      const replies = out.trim().split("\n").slice(0, 4).map((l) => JSON.parse(l));
      expect(replies.slice(0, 3).map((r) => r.ok)).toEqual([true, true, true]);
      expect(replies[3].error.code).toBe("busy");
      // Root (this process) is answered while the member's 3 connections are held open.
      expect(await roundTrip(path, { id: "root", op: "status" })).toMatchObject({ id: "root", ok: true });
      expect(replies[3].error.message).toContain("control group members");
    } finally {
      clearTimeout(timer);
      p.stdin.end();
      p.kill(9);
      server.close();
    }
  });

  test("with the default modes (socket 0600, directory 0700) the user cannot even open the socket", async () => {
    const dir = tempDir("vb-peercred-");
    chmodSync(dir, 0o755);
    const path = join(dir, "run", "control");
    const server = new ControlServer({ target: new StubTarget(), path });
    try {
      const r = await py(path, "status");
      expect(r.code).toBe(2);
      expect(JSON.parse(r.err).message).toContain("Permission denied");
      expect(server.stats().refused).toBe(0);
    } finally {
      server.close();
    }
  });
});
