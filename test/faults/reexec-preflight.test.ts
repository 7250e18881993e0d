// The re-exec preflight took any program whose `--version` exited 0 for a vector-boot image: PID 1 exec'd /bin/true, and the machine was gone.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { exe, killLeftovers, root, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { appendModel, locateEmbeddedModel } from "../../src/rts/embed.ts";
import { HANDOFF_VERSION } from "../../src/boot/handoff-version.ts";

afterEach(killLeftovers);

const statusOf = (sock: string) => JSON.parse(runShipped(["status", "--json", "--socket", sock]).stdout) as { generation: number; services: Record<string, number> };

test("as PID 1, reexec to a program that answers --version with status 0 but is not vector-boot (/bin/true), or to one that reads another handoff version, is refused; the image, its service and its beat carry on, and a real image is still taken", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [{ name: "svc", argv: ["sleep", "1000"] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening") && /service started service=svc/.test(run.log()), 30_000, "the init's control socket and service");
  // A vector-boot that reads only handoff 2 and 3 (an image from before `killedFor`: it cannot read the handoff this image writes) is refused (root-owned, 0755: it passes the path checks).
  const bin = join(dir, "bin");
  mkdirSync(bin, { mode: 0o755 });
  const other = join(bin, "vector-boot-next");
  writeFileSync(other, `#!/bin/sh\n[ "$1" = --version ] && { echo "vector-boot 9.0.0 (bun 9.9.9, handoff 2,3)"; exit 0; }\nexit 99\n`);
  chmodSync(other, 0o755);
  const silent = join(bin, "silent");
  writeFileSync(silent, "#!/bin/sh\nexit 0\n");
  chmodSync(silent, 0o755);
  for (const [path, says] of [
    ["/bin/true", 'is not a vector-boot image: its --version said "true (GNU coreutils)'],
    [silent, 'is not a vector-boot image: its --version said ""'],
    [other, `reads handoff version 2,3, this image writes ${HANDOFF_VERSION}`],
  ] as const) {
    const r = runShipped(["reexec", path, "--socket", sock, "--timeout", "20000"]);
    expect({ path, code: r.code }).toEqual({ path, code: 65 }); // control code refused (it was failed, 70: 'a bug')
    expect(r.stderr).toContain(says);
    // Still the same image, with its service, still beating.
    const s = statusOf(sock);
    expect(s.generation).toBe(0);
    expect(s.services).toEqual({ running: 1 });
  }
  expect(run.log()).not.toContain("reexec: exec ");
  // The image itself answers as one: the re-exec goes through.
  expect(runShipped(["reexec", exe, "--socket", sock, "--timeout", "30000"]).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec into the real image");
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);

test("as PID 1, reexec after a typo in the config file: the new image (lenient as PID 1) came up with the defaults and left every service unsupervised; now the new image is asked first (boot --check) and the re-exec is refused naming the key, the services keep their pids", async () => {
  const dir = tempDir();
  const good = { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [{ name: "svc", argv: ["sleep", "1000"] }] };
  const cfg = writeJson(dir, "config.json", good);
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening") && /service started service=svc/.test(run.log()), 30_000, "the init's control socket and service");
  const pidOf = () => (JSON.parse(runShipped(["services", "--json", "--socket", sock]).stdout) as Array<{ pid: number }>)[0]!.pid;
  const before = pidOf();
  writeJson(dir, "config.json", { ...good, services: [{ name: "svc", argv: ["sleep", "1000"], restrat: "always" }] });
  const r = runShipped(["reexec", "--socket", sock, "--timeout", "30000"]);
  expect(r.code).toBe(65);
  expect(r.stderr).toContain(`refuses the config or the model it would boot with (${cfg}: services[0]: Unrecognized key: "restrat"`);
  expect(r.stderr).toContain(`the running image carries on: fix ${cfg} or the image first`);
  expect(statusOf(sock).generation).toBe(0);
  expect(pidOf()).toBe(before);
  // Fixed, it goes through, and the service keeps its process.
  writeJson(dir, "config.json", good);
  expect(runShipped(["reexec", "--socket", sock, "--timeout", "30000"]).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  expect(pidOf()).toBe(before);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);

test("as PID 1, reexec to an image without its embedded model, with a truncated one, or with another base model passed the preflight: the first two powered the machine off, the third dropped every acknowledged mutation from the live weights; all three are refused (65), the services keep their pids", async () => {
  const embedded = locateEmbeddedModel(exe);
  expect(embedded).not.toBeNull(); // the shipped image carries its model
  const dir = tempDir();
  const bin = join(dir, "bin");
  mkdirSync(bin, { mode: 0o755 });
  const image = readFileSync(exe);
  const bare = join(bin, "bare");
  writeFileSync(bare, image.subarray(0, embedded!.programSize), { mode: 0o755 });
  const cut = join(bin, "cut");
  writeFileSync(cut, image.subarray(0, image.length - 200), { mode: 0o755 });
  // The same program with another valid model (fewer pixels: other weights, another SHA-256).
  const otherModel = join(dir, "other.gguf");
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", otherModel, "--max-pixels", "31"], { stderr: "pipe", timeout: 60_000 });
  expect(g.exitCode).toBe(0);
  const other = join(bin, "other");
  await appendModel(bare, otherModel, other);
  chmodSync(other, 0o755);
  const same = join(bin, "same");
  copyFileSync(exe, same);
  chmodSync(same, 0o755);

  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [{ name: "svc", argv: ["sleep", "1000"] }] });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening") && /service started service=svc/.test(run.log()), 30_000, "the init's control socket and service");
  const pidOf = () => (JSON.parse(runShipped(["services", "--json", "--socket", sock]).stdout) as Array<{ pid: number }>)[0]!.pid;
  const before = pidOf();
  for (const [path, says] of [
    [bare, "no model embedded in"],
    [cut, "is truncated or damaged"],
    [other, "would boot another base model"],
  ] as const) {
    const r = runShipped(["reexec", path, "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 });
    expect({ path, code: r.code }).toEqual({ path, code: 65 });
    expect(r.stderr).toContain(says);
    expect(statusOf(sock).generation).toBe(0);
    expect(pidOf()).toBe(before);
  }
  expect(run.log()).not.toContain("reexec: exec ");
  // A copy of the running image (same model) is taken.
  expect(runShipped(["reexec", same, "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 }).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec into the same model");
  expect(pidOf()).toBe(before);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 240_000);

test("as PID 1 with a bad --set (ignored, warned), every re-exec was refused until a reboot (the check read the --set strictly); an image whose embedded model was damaged passed (the check compared the trailer's recorded hash): the first goes through, the second is refused", async () => {
  const embedded = locateEmbeddedModel(exe);
  expect(embedded).not.toBeNull();
  const dir = tempDir();
  const bin = join(dir, "bin");
  mkdirSync(bin, { mode: 0o755 });
  const image = Buffer.from(readFileSync(exe));
  image[embedded!.offset + embedded!.size - 100]! ^= 0x40; // a weight's byte: the trailer still records the original hash
  const damaged = join(bin, "damaged");
  writeFileSync(damaged, image, { mode: 0o755 });
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [{ name: "svc", argv: ["sleep", "1000"] }] });
  const run = start(["boot", "--config", cfg, "--set", "pixel_tset=0"], { pid1: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening") && /service started service=svc/.test(run.log()), 30_000, "the init's control socket and service");
  expect(run.log()).toContain("invalid setting ignored");
  const bad = runShipped(["reexec", damaged, "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 });
  expect(bad.code).toBe(65);
  expect(bad.stderr).toContain("trailer.sha256: model bytes in");
  expect(statusOf(sock).generation).toBe(0);
  const good = runShipped(["reexec", "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 });
  expect({ code: good.code, err: good.stderr }).toEqual({ code: 0, err: "" });
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 180_000);
