// `vector-boot top` in a real terminal (tmux, 80x24) against the real executable as PID 1: keys act, the terminal is restored.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import { runShippedAsync, shipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { childrenOf, killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

const tmuxSocket = `vb-top-${process.pid}`;
const tmux = (...args: string[]) => {
  const r = Bun.spawnSync(["tmux", "-L", tmuxSocket, "-f", "/dev/null", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, LANG: "C.UTF-8" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};
afterAll(() => {
  tmux("kill-server");
});

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const pane = (session: string) => tmux("capture-pane", "-p", "-t", session).out;
const paneVar = (session: string, v: string) => tmux("display-message", "-p", "-t", session, `#{${v}}`).out.trim();

/** Starts `top` in an 80x24 tmux session, between two `stty -g` (so the test sees whether the terminal came back as it was). */
function startTop(session: string, dir: string, socket: string): void {
  const top = shipped(["top", "--socket", socket, "--interval", "300"]).map(sq).join(" ");
  const script = `stty -g > ${dir}/${session}.before; ${top}; echo $? > ${dir}/${session}.status; stty -g > ${dir}/${session}.after`;
  const r = tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-e", "LANG=C.UTF-8", script, ";", "set-option", "-t", session, "remain-on-exit", "on");
  expect(r.err).toBe("");
}

/** The service rows' names in screen order. */
const rowNames = (frame: string) => [...frame.matchAll(/^[> ] (zeta|alpha) /gm)].map((m) => m[1]);

describe("top in a terminal", () => {
  test("top shows both services and the heartbeat; Down, r, n cancels, r, y restarts the selected one; s re-sorts; q and SIGTERM restore the terminal", async () => {
    const dir = tempDir("vb-top-");
    const sock = join(dir, "run", "control");
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      heartbeat_ms: 50,
      services: [
        { name: "zeta", argv: ["sleep", "1000"] },
        { name: "alpha", argv: ["sleep", "1000"] },
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    await run.initPid();
    const services = async () => JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out) as Array<{ name: string; state: string; pid: number; restarts: number }>;
    let frame = "";
    try {
      await waitFor(() => run.log().includes("control socket listening") && (run.log().match(/service started/g) ?? []).length >= 2, 30_000, "control socket and both services");

      // A checkpoint written now: its age is on the frame.
      expect(await controlRequest({ op: "checkpoint" }, { path: sock })).toMatchObject({ coveredSeq: 0 });
      // One frame for scripts: ASCII, 80x24 without a terminal.
      const once = await runShippedAsync(["top", "--once", "--ascii", "--interval", "200", "--socket", sock]);
      expect(once.err).toBe("");
      expect(once.code).toBe(0);
      const lines = once.out.trimEnd().split("\n");
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
      expect(once.out).toMatch(/^[\x20-\x7e\n]*$/);
      expect(rowNames(once.out)).toEqual(["zeta", "alpha"]);
      expect(once.out).toMatch(/^journal seq \d+ \(durable \d+\)  checkpoint \d+s ago \(seq 0\)$/m);

      startTop("q", dir, sock);
      const show = (cond: (f: string) => boolean) => () => cond((frame = pane("q")));
      await waitFor(show((f) => rowNames(f).length === 2 && /late p50 [\d.]+ p99 [\d.]+ max [\d.]+ ms/.test(f) && /late [▁▂▃▄▅▆▇█]+ 0-/.test(f)), 30_000, "a frame with both services and the heartbeat figures", { pollMs: 50 });
      expect(paneVar("q", "alternate_on")).toBe("1");
      expect(frame).toMatch(/^> zeta /m);
      for (const l of frame.split("\n")) expect(Array.from(l).length).toBeLessThanOrEqual(80);

      const before = (await services()).find((s) => s.name === "alpha")!;
      tmux("send-keys", "-t", "q", "Down");
      await waitFor(show((f) => /^> alpha /m.test(f)), 10_000, "alpha selected");
      tmux("send-keys", "-t", "q", "r");
      await waitFor(show((f) => f.includes("restart alpha? [y/N]")), 10_000, "the confirmation prompt");
      tmux("send-keys", "-t", "q", "n");
      await waitFor(show((f) => f.includes("restart of alpha cancelled")), 10_000, "the restart cancelled");
      expect((await services()).find((s) => s.name === "alpha")!.pid).toBe(before.pid);

      tmux("send-keys", "-t", "q", "r");
      await waitFor(show((f) => f.includes("restart alpha? [y/N]")), 10_000, "the confirmation prompt again");
      tmux("send-keys", "-t", "q", "y");
      await waitFor(show((f) => /alpha restarted \(pid \d+\)/.test(f)), 30_000, "alpha restarted");
      const after = await services();
      const alpha = after.find((s) => s.name === "alpha")!;
      // A restart asked for by the operator is a new process; `restarts` counts the restart policy's restarts only.
      expect(alpha.state).toBe("running");
      expect(alpha.pid).not.toBe(before.pid);
      expect(after.find((s) => s.name === "zeta")!.pid).toBeGreaterThan(0);
      // The message may first show on a frame of a refresh begun before the restart ended (old rows): wait for the new pid.
      await waitFor(show((f) => f.includes(` ${alpha.pid} `)), 10_000, "the new pid on the frame");

      tmux("send-keys", "-t", "q", "s");
      await waitFor(show((f) => f.includes("sort name") && rowNames(f).join() === "alpha,zeta"), 10_000, "the rows sorted by name");
      expect(frame).toMatch(/^> alpha /m);

      tmux("send-keys", "-t", "q", "q");
      await waitFor(() => paneVar("q", "pane_dead") === "1", 10_000, "top to exit on q");
      expect(readFileSync(join(dir, "q.status"), "utf8").trim()).toBe("0");
      expect(paneVar("q", "alternate_on")).toBe("0");
      expect(readFileSync(join(dir, "q.after"), "utf8")).toBe(readFileSync(join(dir, "q.before"), "utf8"));

      // SIGTERM (e.g. the ssh session's end): the terminal comes back too, exit 128+15.
      startTop("term", dir, sock);
      await waitFor(() => rowNames((frame = pane("term"))).length === 2, 30_000, "the second top's frame", { pollMs: 50 });
      const shellPid = Number(paneVar("term", "pane_pid"));
      const topPid = childrenOf(shellPid)[0]!;
      expect(readFileSync(`/proc/${topPid}/cmdline`, "utf8")).toContain("top");
      process.kill(topPid, "SIGTERM");
      await waitFor(() => paneVar("term", "pane_dead") === "1", 10_000, "top to exit on SIGTERM");
      expect(readFileSync(join(dir, "term.status"), "utf8").trim()).toBe("143");
      expect(paneVar("term", "alternate_on")).toBe("0");
      expect(readFileSync(join(dir, "term.after"), "utf8")).toBe(readFileSync(join(dir, "term.before"), "utf8"));
    } catch (e) {
      console.error(`last frame:\n${frame}\ninit log:\n${run.log().split("\n").slice(-20).join("\n")}`);
      throw e;
    }
  }, 180_000);
});
