// A relative run_dir or state_dir is taken from where the init was started, once: services (cwd "/") reach its notify socket.
import { afterEach, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a relative run_dir gave services NOTIFY_SOCKET as that relative path, which a service in another directory (cwd \"/\", the default) could not reach: READY=1 was lost and the service killed at its readiness timeout", async () => {
  const dir = tempDir();
  const script = join(dir, "svc.py");
  writeFileSync(script, 'import os, socket, time\nprint("NOTIFY_SOCKET=" + os.environ["NOTIFY_SOCKET"], flush=True)\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ntry:\n    s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])\nexcept OSError as e:\n    print("sd_notify failed:", e, flush=True)\ntime.sleep(30)\n');
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: "run",
    state_dir: "state",
    services: [{ name: "db", argv: [python, script], restart: "never", ready: { notify: true, timeout_ms: 3_000 }, log_file: {} }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { cwd: dir });
  await waitFor(() => run.log().includes("service ready") || run.log().includes("not ready within"), 15_000, "db ready or timed out");
  run.proc.kill("SIGTERM");
  const r = await run.result(20_000);
  expect(r.stdout + r.stderr).toContain(`NOTIFY_SOCKET=${join(dir, "run-notify", "notify")}`);
  expect(r.stderr).toContain("service ready service=db");
  expect(r.stderr).not.toContain("not ready within");
  expect(r.stdout + r.stderr).not.toContain("sd_notify failed");
  // The state went where the relative path pointed when the init started.
  expect(existsSync(join(dir, "state", "logs", "db.log"))).toBe(true);
}, 40_000);
