// The CLI's refused connect: node:net says ECONNREFUSED for a full backlog, a stale socket file and a path that is no socket alike.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, tempDir } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";

const dir = tempDir("vb-refused-");
const held: { kill(sig?: number): void }[] = [];
afterAll(() => held.forEach((p) => p.kill(9)));

/** A listener that never accepts, its backlog filled (nonblocking connects until EAGAIN); prints "full" and waits for stdin's end. */
const fullBacklog = [
  "import socket, sys",
  "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)",
  "cs = []",
  "while True:",
  "    c = socket.socket(socket.AF_UNIX); c.setblocking(False)",
  "    try: c.connect(sys.argv[1]); cs.append(c)",
  "    except BlockingIOError: break",
  "print('full', len(cs), flush=True)",
  "sys.stdin.read()",
].join("\n");

test("status against an instance whose connection queue is full (a flood) exited 71 with ECONNREFUSED, as if nothing ran there: it tries again until its timeout, then exits 75 (not now, try again)", async () => {
  const path = join(dir, "full");
  const p = Bun.spawn([python, "-c", fullBacklog, path], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  held.push(p);
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toStartWith("full");
  const t0 = performance.now();
  const r = await runShippedAsync(["status", "--socket", path, "--timeout", "1500"], 20_000);
  expect(r.code).toBe(75);
  expect(r.err).toContain("not taking connections");
  expect(r.err.trim().split("\n")).toHaveLength(1);
  expect(performance.now() - t0).toBeGreaterThan(1_000); // it waited (most of) its timeout for a slot
  p.kill(9);
}, 30_000);

test("status against a stale socket file (nothing listening) says nothing listens there (71)", async () => {
  const path = join(dir, "stale");
  const r0 = Bun.spawnSync([python, "-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path], { timeout: 10_000 });
  expect(r0.exitCode).toBe(0);
  const r = await runShippedAsync(["status", "--socket", path], 20_000);
  expect(r.code).toBe(71);
  expect(r.err).toContain(`${path}: nothing listens on this socket`);
}, 30_000);

test("status against a regular file or a directory said ECONNREFUSED: it says the path is not a socket (71)", async () => {
  writeFileSync(join(dir, "file"), "x");
  mkdirSync(join(dir, "dir"));
  for (const [name, what] of [["file", "a regular file"], ["dir", "a directory"]] as const) {
    const r = await runShippedAsync(["status", "--socket", join(dir, name)], 20_000);
    expect(r.code).toBe(71);
    expect(r.err).toContain(`${join(dir, name)} is ${what}, not a socket`);
    expect(r.err).not.toContain("ECONNREFUSED");
  }
}, 30_000);
