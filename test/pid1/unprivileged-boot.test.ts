// A development boot as a normal user could start no service: dropping from the bounding set needs CAP_SETPCAP, and the spawn failed with EPERM.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";
import { createSystemUser, type SystemUser } from "../harness/system-user.ts";

let user: SystemUser;
beforeAll(() => {
  user = createSystemUser(`vbdev-${process.pid % 100000}`);
});
afterAll(() => user.remove());

test("a boot as a normal user starts its services with no capabilities and no way to gain any (no_new_privs)", () => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const home = join(dir, "home");
  mkdirSync(home);
  chownSync(home, user.uid, user.gid);
  // The user's own copy of the executable (the shipped one sits in a directory only root can enter).
  const own = join(dir, "vector-boot");
  copyFileSync(exe, own);
  chmodSync(own, 0o755);
  const out = join(home, "caps.txt");
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({
    state_dir: join(home, "state"), run_dir: join(home, "run"), shutdown_after: 2,
    services: [{ name: "plain", restart: "never", argv: ["sh", "-c", `grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status | tr -d '\\t' > ${out}; exec sleep 100`] }],
  }));
  chmodSync(cfg, 0o644);
  const r = Bun.spawnSync(hidden(["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "env", `HOME=${home}`, `TMPDIR=${home}`, own, "boot", "--config", cfg]), {
    stdout: "pipe", stderr: "pipe", env: shippedEnv({ TMPDIR: home }), timeout: 60_000,
  });
  const log = r.stderr.toString();
  expect(log).not.toContain("service could not start");
  expect(log).toMatch(/service started service=plain/);
  expect(r.exitCode).toBe(0);
  expect(readFileSync(out, "utf8").trim().split("\n")).toEqual(["CapPrm:0000000000000000", "CapEff:0000000000000000", "NoNewPrivs:1"]);
});
