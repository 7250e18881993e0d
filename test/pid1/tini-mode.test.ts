// tini-style mode (`vector-boot -- CMD`) as PID 1 in a PID namespace and as a subreaper on the host.
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, loggedAt, root, start, tempDir } from "./harness.ts";

afterEach(killLeftovers);

// A copy outside the checkout: the init runs with the checkout hidden.
const orphans = join(tempDir("fixtures-"), "orphans.sh");
copyFileSync(join(root, "test/fixtures/orphans.sh"), orphans);

for (const pid1 of [false, true]) {
  const where = pid1 ? "as PID 1 (unshare)" : "as a subreaper";
  describe(`tini mode ${where}`, () => {
    test("200 orphaned grandchildren exiting at random times are all reaped: no zombie after 1 s", async () => {
      // 200 double forks take seconds on a loaded 2-core host: the bound is generous, the check is exact.
      const r = await start(["--", orphans, "200", "800", "0"], { pid1, env: pid1 ? { INIT: "1" } : {} }).result(80_000);
      expect(r.stdout).toContain("zombies=0");
      expect(r.code).toBe(0);
    }, 90_000);

    for (const code of [0, 1, 42, 255]) {
      test(`main child's exit code ${code} is propagated exactly`, async () => {
        const r = await start(["--", "sh", "-c", `exit ${code}`], { pid1 }).result(10_000);
        expect(r.code).toBe(code);
      });
    }

    test("a main child killed by SIGTERM gives 128+15", async () => {
      const r = await start(["--", "sh", "-c", "kill -TERM $$"], { pid1 }).result(10_000);
      expect(r.code).toBe(143);
    });

    test("a missing command exits 127 naming the path; a non-executable one 126", async () => {
      const a = await start(["--", "/nonexistent/cmd"], { pid1 }).result(10_000);
      expect(a.code).toBe(127);
      expect(a.stderr).toContain("/nonexistent/cmd");
      // A file without the execute bit (not /etc/hostname: on some hosts it is 0755, and as a script
      // without "#!" /bin/sh runs it).
      const plain = join(tempDir(), "not-executable");
      writeFileSync(plain, "echo no\n", { mode: 0o644 });
      const b = await start(["--", plain], { pid1 }).result(10_000);
      expect(b.code).toBe(126);
      expect(b.stderr).toContain(plain);
    });

    test("a script without #! exited 126 (ENOEXEC); like tini and dumb-init (execvp) the init runs it with /bin/sh", async () => {
      const script = join(tempDir(), "no-shebang");
      writeFileSync(script, 'echo "args: $0 $@"; exit 7\n', { mode: 0o755 });
      const r = await start(["--", script, "x", "y z"], { pid1 }).result(10_000);
      expect(r.stdout).toBe(`args: ${script} x y z\n`);
      expect(r.code).toBe(7);
    });

    test("the child starts with no blocked or ignored signal that the caller did not set", async () => {
      const r = await start(["--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"], { pid1 }).result(10_000);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("SigBlk:\t0000000000000000");
      expect(r.stdout).toContain("SigIgn:\t0000000000000000");
    });

    test("the child runs in the caller's working directory", async () => {
      const r = await start(["--", "pwd"], { pid1, cwd: "/usr" }).result(10_000);
      expect(r.stdout.trim()).toBe("/usr");
    });

    test("a main child exiting 127 at the same instant as a grandchild is noticed (no hang)", async () => {
      const r = await start(["--", "sh", "-c", "(exit 3) & exit 127"], { pid1 }).result(10_000);
      expect(r.code).toBe(127);
      expect(r.ms).toBeLessThan(5_000);
    });

    test("a grandchild that forks 100 short-lived processes leaves no zombie 100 ms after the last ends", async () => {
      const script = `init=${pid1 ? 1 : "$PPID"}; (i=0; while [ $i -lt 100 ]; do (true &); i=$((i+1)); done) ; sleep 0.1; z=0; for s in /proc/[0-9]*/stat; do read -r l < $s 2>/dev/null || continue; r=\${l##*) }; set -- $r; [ "$1" = Z ] && [ "$2" = "$init" ] && z=$((z+1)); done; echo zombies=$z`;
      const r = await start(["--", "sh", "-c", script], { pid1 }).result(15_000);
      expect(r.stdout).toContain("zombies=0");
    }, 20_000);

    test("descendants left when the main child exits get SIGTERM and the init waits for them (bounded)", async () => {
      // The leftover traps TERM, writes a marker, and exits; the init must wait for it, not leave it.
      // CMD exits once the leftover's trap is set and its sleep started (a file it makes then), not
      // after a guessed 0.2 s. The file comes after the sleep: a SIGTERM to everyone before the
      // sleep existed left the trap pending and the wait on a sleep nobody had signalled (30 s).
      const trapped = join(tempDir(), "trapped");
      const script = `(trap 'echo leftover-got-term; exit 0' TERM; sleep 30 & : > ${trapped}; wait) & until [ -e ${trapped} ]; do sleep 0.01; done; exit 5`;
      const r = await start(["--grace", "20000", "--", "sh", "-c", script], { pid1 }).result(30_000);
      expect(r.code).toBe(5);
      expect(r.stdout).toContain("leftover-got-term");
      expect(r.ms).toBeLessThan(10_000); // not the 20 s grace (start-up on a busy host is no part of it)
    }, 40_000);

    test("a leftover that ignores SIGTERM is SIGKILLed at the grace limit", async () => {
      // CMD exits once the leftover ignores TERM (a file it makes after its trap), not after a guessed 0.2 s.
      const trapped = join(tempDir(), "trapped");
      const script = `(trap '' TERM; : > ${trapped}; sleep 30) & until [ -e ${trapped} ]; do sleep 0.01; done; exit 0`;
      const r = await start(["-v", "--grace", "500", "--", "sh", "-c", script], { pid1 }).result(15_000);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("SIGKILL");
      // The grace on the init's log clock, from the main child's exit: the start-up of unshare and the
      // init on a busy host is no part of it (-v logs "main child exited").
      const exited = loggedAt(r.stderr, /main child exited/)!;
      const killed = loggedAt(r.stderr, /sending SIGKILL/)!;
      expect(killed - exited).toBeGreaterThanOrEqual(450);
      expect(killed - exited).toBeLessThan(500 + 1_500);
    });
  });
}
