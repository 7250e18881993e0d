// The hardware watchdog stays armed and petted until reboot(2) and across a re-exec (it used to be disarmed first thing in shutdown); a PID 1 of a namespace disarms it just before.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { mkfifo } from "../harness/fifo.ts";
import { standInWatchdog } from "../harness/stand-in-watchdog.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { runShippedAsync } from "../harness/artifact.ts";

afterEach(killLeftovers);

test("as PID 1 the watchdog is petted through the whole shutdown and stays open across a live re-exec; a namespace's PID 1 magic-closes it only just before reboot(2)", async () => {
  const dir = tempDir();
  const wd = standInWatchdog(dir);
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 50,
    heartbeat: { watchdog: wd.path },
    // Ignores SIGTERM: stopping it takes its 3 s grace, during which only the shutdown can pet.
    services: [{ name: "stubborn", argv: ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], grace_ms: 3000 }],
  });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("watchdog armed"), 30_000, "the watchdog armed");
  await waitFor(() => wd.bytes.length >= 5, 10_000, "pets from the beat");
  // A live re-exec: the device must stay open (the reader sees no EOF) and be adopted, not reopened.
  process.kill(init, "SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(() => run.log().includes("watchdog adopted"), 10_000, "the adoption");
  const afterExec = wd.bytes.length;
  await waitFor(() => wd.bytes.length >= afterExec + 5, 10_000, "pets from the new image");
  expect(wd.closedAt()).toBeNull();
  // Shutdown: the 3 s grace of the stubborn service; pets go on all along.
  const t0 = performance.now();
  process.kill(init, "SIGTERM");
  const r = await run.result(60_000);
  await wd.done;
  expect(r.stderr).toContain("poweroff now");
  // Disarmed only at the very end, after the sync and before reboot(2): this PID 1's namespace is not
  // the machine's, and its reboot(2) ends the namespace, which closed the device without the magic
  // "V" (the host's watchdog stayed armed). The machine's own PID 1 keeps it armed into reboot(2).
  const log = r.stderr;
  expect(log.indexOf("watchdog disarmed")).toBeGreaterThan(log.indexOf("shutdown: synced"));
  expect(log.indexOf("watchdog disarmed")).toBeLessThan(log.indexOf("poweroff now"));
  const during = wd.bytes.filter((b) => b.at > t0);
  // At least one pet per 1.5 s of the ~3 s stop, and the magic "V" written once, as the last byte.
  expect(during.length).toBeGreaterThanOrEqual(2);
  const gaps = during.slice(1).map((b, i) => b.at - during[i]!.at);
  expect(Math.max(...gaps)).toBeLessThan(1500);
  expect(wd.bytes.filter((b) => b.byte === 0x56).length).toBe(1);
  expect(wd.bytes.at(-1)?.byte).toBe(0x56);
}, 120_000);

test("outside PID 1 the watchdog is disarmed (magic close) at the end of shutdown", async () => {
  const dir = tempDir();
  const wd = standInWatchdog(dir);
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, shutdown_after: 1, heartbeat: { watchdog: wd.path } });
  const r = await start(["boot", "--config", cfg]).result(60_000);
  await wd.done;
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("watchdog disarmed");
  expect(wd.bytes.at(-1)?.byte).toBe(0x56); // "V": the magic close
}, 120_000);

test("a watchdog path naming a regular file was emptied (opened with O_TRUNC), and a FIFO nobody reads held the boot in open(): both are left alone, the boot goes on", async () => {
  const dir = tempDir();
  const file = join(dir, "not-a-device");
  writeFileSync(file, "precious\n");
  const fifo = mkfifo(dir, "no-reader");
  for (const path of [file, fifo]) {
    const cfg = writeJson(dir, "c.json", { shutdown_after: 0.5, heartbeat: { watchdog: path } });
    const r = await start(["boot", ...bootArgs(), "--config", cfg], { pid1: true }).result(15_000);
    expect(r.stderr).toContain("first heartbeat");
    expect(r.stderr).not.toContain("watchdog armed");
    expect(r.stderr).toContain(path === file ? "watchdog path is a regular file, not a device" : "watchdog present but cannot be opened");
    expect(r.code).toBe(130);
  }
  expect(readFileSync(file, "utf8")).toBe("precious\n");
}, 40_000);

test("a live re-exec's watchdog descriptor that was a regular file by the new image's start (put on its number between the images) was adopted unchecked and petted, a zero byte written into the file every beat; it is left alone and the device opened anew", async () => {
  const dir = tempDir();
  const wd = standInWatchdog(dir);
  const runDir = join(dir, "run");
  const victim = join(dir, "victim");
  writeFileSync(victim, "");
  // The device stays open on another number (so the stand-in sees no close), and the handed-over
  // number becomes the victim file.
  const script = betweenImages(
    dir,
    "between",
    `h = json.load(open(os.environ["VECTOR_BOOT_HANDOFF"]))
fd = h["parts"]["watchdog"]["fd"]
os.dup2(fd, 200)
os.dup2(os.open(${JSON.stringify(victim)}, os.O_WRONLY), fd)`,
  );
  const cfg = writeJson(dir, "config.json", { run_dir: runDir, heartbeat_ms: 50, heartbeat_log_every: 0, heartbeat: { watchdog: wd.path } });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  const r = await runShippedAsync(["reexec", script, "--socket", join(runDir, "control"), "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => /resuming after re-exec generation=1 [^]*watchdog (armed|adopted)/.test(run.log()), 30_000, "the new image's watchdog", { explain: () => run.log() });
  const after = run.log().split("resuming after re-exec generation=1 ")[1]!;
  expect(after).toMatch(/watchdog descriptor handed over at the re-exec not adopted; opening the device anew device=\S+ fd=\d+ why=".*a regular file\)"/);
  expect(after).not.toContain("watchdog adopted");
  const armed = wd.bytes.length;
  await waitFor(() => wd.bytes.length >= armed + 5, 10_000, "pets from the new image");
  expect(readFileSync(victim).length).toBe(0);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
  expect(readFileSync(victim).length).toBe(0);
}, 120_000);

interface Status {
  heartbeat: { watchdog: { armed: boolean; pets: number } };
}

test("a live re-exec whose watchdog path could not be looked at by the new image (removed between the images) refused the device it held, could not open it again, and left it unpetted (a real watchdog resets the machine): the character device held is adopted", async () => {
  const dir = tempDir();
  // A character device the test can make anywhere: /dev/null's numbers (1:3). The pets are counted by the init.
  const device = join(dir, "watchdog");
  expect(Bun.spawnSync(["mknod", "-m", "0600", device, "c", "1", "3"]).exitCode).toBe(0);
  const runDir = join(dir, "run");
  const sock = join(runDir, "control");
  const script = betweenImages(dir, "between", `os.unlink(${JSON.stringify(device)})`);
  const cfg = writeJson(dir, "config.json", { run_dir: runDir, heartbeat_ms: 50, heartbeat_log_every: 0, heartbeat: { watchdog: device } });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("watchdog armed"), 30_000, "boot up", { explain: () => run.log() });
  const r = await runShippedAsync(["reexec", script, "--socket", sock, "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => /resuming after re-exec generation=1 [^]*heartbeat started/.test(run.log()), 30_000, "the new image's heartbeat", { explain: () => run.log() });
  const after = run.log().split("resuming after re-exec generation=1 ")[1]!;
  expect(after).toMatch(/watchdog path cannot be checked; adopting the descriptor handed over device=\S+ fd=\d+ error=ENOENT/);
  expect(after).toContain("watchdog adopted");
  const status = async () => (JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out) as Status).heartbeat.watchdog;
  const first = await status();
  expect(first.armed).toBe(true);
  await waitFor(async () => (await status()).pets >= first.pets + 5, 10_000, "pets from the new image", { pollMs: 100 });
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
