// Two inits given the same run_dir: the second replaced the first's live sockets (control, evolution, sd_notify) and removed them when it ended; the first was left unreachable.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { pythonMutate } from "../evolution/shipped-cli.ts";

afterEach(killLeftovers);

test("a second init with the same run_dir took over the first's control, evolution and sd_notify sockets and removed them at its exit; it is refused (exit 78) or goes on without them, and the first keeps all three", async () => {
  const dir = tempDir();
  const runDir = join(dir, "run");
  // A service that is ready over sd_notify: the notify socket exists.
  const cfg = writeJson(dir, "config.json", { run_dir: runDir, services: [{ name: "ready", argv: ["sh", "-c", "systemd-notify --ready 2>/dev/null || python3 -c 'import os,socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"]); s.send(b\"READY=1\")'; exec sleep 1000"], ready: { notify: true } }] });
  const a = start(["boot", ...bootArgs(), "--config", cfg, "--set", `state_dir=${join(dir, "state-a")}`]);
  const sock = join(runDir, "control");
  await waitFor(() => a.log().includes("control socket listening") && /service ready service=ready|became ready|is ready/.test(a.log()), 30_000, "the first init up, its service ready");
  const notify = join(dir, "run-notify", "notify");
  expect(existsSync(notify)).toBe(true);
  // With evolution: its socket is the first the second init would take; it stops (exit 78).
  const b = await start(["boot", ...bootArgs(), "--config", cfg, "--set", `state_dir=${join(dir, "state-b")}`, "--set", "shutdown_after=2"]).result(30_000);
  expect(b.code).toBe(78);
  expect(b.stderr).toContain(`${join(runDir, "evolution.sock")} is in use by another running instance (two inits with the same run_dir?)`);
  // Without evolution it gets as far as the control and notify sockets: refused each, it runs without them and ends normally.
  const c = await start(["boot", ...bootArgs(), "--config", cfg, "--set", `state_dir=${join(dir, "state-c")}`, "--set", "evolution=0", "--set", "shutdown_after=1"]).result(30_000);
  expect(c.stderr).toContain(`${sock} is in use by another running instance`);
  expect(c.stderr).toContain(`${notify}: in use by another running instance`);
  // The first still has all three.
  for (const p of [sock, join(runDir, "evolution.sock"), notify]) expect({ p, there: existsSync(p) }).toEqual({ p, there: true });
  const st = await runShippedAsync(["status", "--json", "--socket", sock]);
  expect(JSON.parse(st.out).pid).toBe(await a.initPid());
  expect(pythonMutate(join(runDir, "evolution.sock"), ["pixel.0.weight", "0", "0.5", "--confidence", "0.9"]).json.status).toBe("ACCEPTED");
  process.kill(await a.initPid(), "SIGTERM");
  expect((await a.result(30_000)).code).toBe(0);
}, 120_000);
