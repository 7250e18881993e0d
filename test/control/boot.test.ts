// The real executable as PID 1 (unshare): every operator command over its control socket, re-exec included.
import { afterEach, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

/** Runs the shipped executable with ARGS, checkout hidden (async: the init runs meanwhile). */
const vb = (...args: string[]) => runShippedAsync(args);

describe("operator commands against the real init", () => {
  test("status, services, restart, reexec and poweroff through the control socket of PID 1", async () => {
    const dir = tempDir();
    const sock = join(dir, "run", "control");
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      heartbeat_ms: 20,
      heartbeat_log_every: 1,
      services: [
        { name: "one", argv: ["sleep", "1000"] },
        { name: "two", argv: ["sleep", "1000"], depends_on: ["one"] },
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    await run.initPid();
    const dump = () => console.error(run.log().split("\n").slice(-30).join("\n"));
    try {
      await waitFor(() => run.log().includes("control socket listening") && (run.log().match(/service started/g) ?? []).length >= 2, 15_000, "control socket and services");
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "run")).mode & 0o777).toBe(0o700);

      const st = await vb("status", "--json", "--socket", sock);
      expect(st.code).toBe(0);
      const status = JSON.parse(st.out);
      expect(status).toMatchObject({ pid: 1, generation: 0, services: { running: 2 } });
      expect(typeof status.model.name).toBe("string");

      const human = await vb("status", "--socket", sock);
      expect(human.out).toStartWith("vector-boot: pid 1, version ");

      const list = async () => JSON.parse((await vb("services", "--json", "--socket", sock)).out) as Array<{ name: string; state: string; pid: number }>;
      const before = await list();
      expect(before.map((s) => [s.name, s.state])).toEqual([["one", "running"], ["two", "running"]]);

      const rs = await vb("restart", "two", "--json", "--socket", sock);
      expect(rs.code).toBe(0);
      const two = JSON.parse(rs.out);
      expect(two.state).toBe("running");
      expect(two.pid).not.toBe(before[1]!.pid);

      const beatsBefore = [...run.log().matchAll(/: beat n=(\d+)/g)].length;
      const rx = await vb("reexec", "--json", "--socket", sock);
      expect(rx.err).toBe("");
      expect(JSON.parse(rx.out)).toEqual({ generation: 1, previousGeneration: 0, pid: 1 });
      const after = await list();
      expect(after.map((s) => [s.name, s.state, s.pid])).toEqual([["one", "running", before[0]!.pid], ["two", "running", two.pid]]);
      await waitFor(() => [...run.log().matchAll(/: beat n=(\d+)/g)].length > beatsBefore + 2, 20_000, "beats after the re-exec");

      const bad = await vb("stop", "nosuch", "--socket", sock);
      expect(bad.code).toBe(64);

      const off = await vb("poweroff", "--socket", sock);
      expect(off.out).toBe("poweroff requested\n");
      const r = await run.result(20_000);
      expect(r.stderr).toContain("shutdown requested reason=\"control socket: poweroff\"");
      expect(r.stderr).toContain("poweroff now");
    } catch (e) {
      dump();
      throw e;
    }
  }, 90_000);
});
