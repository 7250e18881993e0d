// Requests that change a handed-over part, asked while a live re-exec hands over: held for the image that carries on, never carried out between two parts.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, pidsRunning, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { listServices } from "./service-boot.ts";
import { stalledDisk, stalledDiskUnsupported, type StalledDisk } from "./stalled-disk.ts";

let disk: StalledDisk | null = null;
afterEach(async () => {
  killLeftovers();
  await disk?.remove();
  disk = null;
});

const unsupported = stalledDiskUnsupported();

// The handover's evolution part waits for the journal (a mutation's fdatasync): the state disk's
// writes are stalled, so that wait lasts until the test lets them go, after the services' snapshot.
test.skipIf(unsupported !== null)(
  "a `start` asked while a live re-exec waited for the journal was carried out by the old image after the services' snapshot: answered 0, the new image listed the service stopped and its process ran unwatched; now it is held and the new image starts it (one process, the one listed)",
  async () => {
    const dir = tempDir();
    disk = stalledDisk(dir);
    const sock = join(dir, "run", "control");
    const marker = String(86_000 + (process.pid % 400) + Math.random()).slice(0, 12);
    const cfg = writeJson(dir, "config.json", {
      pixel_test: false,
      run_dir: join(dir, "run"),
      state_dir: join(disk.mount, "state"),
      heartbeat_ms: 100,
      heartbeat_log_every: 0,
      services: [{ name: "svc", restart: "never", argv: ["sleep", marker] }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
    await waitFor(async () => (await listServices(sock)).find((s) => s.name === "svc")?.state === "running", 30_000, "svc running");
    expect((await runShippedAsync(["stop", "svc", "--socket", sock])).code).toBe(0);
    expect(pidsRunning(["sleep", marker])).toEqual([]);

    // A mutation in flight whose fdatasync waits: the handover's evolution part waits for it.
    disk.stall(run.proc.pid);
    const mutate = runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", sock], 120_000);
    const journal = async () => JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out).journal as { nextSeq: number; durableSeq: number };
    await waitFor(async () => {
      const j = await journal();
      return j.nextSeq - 1 > j.durableSeq;
    }, 30_000, "the mutation journaled, not yet durable");
    const mark = run.log().length;
    const reexec = runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 120_000);
    // The beat freezes first; the services' part is written next, before the evolution's wait.
    await waitFor(() => run.log().slice(mark).includes("heartbeat stopped"), 60_000, "the handover past the services' snapshot");
    const startSvc = runShippedAsync(["start", "svc", "--socket", sock], 120_000);
    await waitFor(() => /start requested service=svc|control request held until the live re-exec is done op=start/.test(run.log().slice(mark)), 30_000, "the start read by the old image");
    disk.release();

    expect((await reexec).code).toBe(0);
    await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
    const started = await startSvc;
    expect({ code: started.code, err: started.err }).toEqual({ code: 0, err: "" });
    await mutate;
    const row = (await listServices(sock)).find((s) => s.name === "svc") as { state: string; pid?: number | null } | undefined;
    const live = pidsRunning(["sleep", marker]);
    // Old code: { state: "stopped", pid: null, live: [the process the old image started] }.
    expect({ state: row?.state, pid: row?.pid, live }).toEqual({ state: "running", pid: live[0], live: [row?.pid ?? -1] });
    expect(run.log().slice(mark)).toContain("control request held until the live re-exec is done op=start");

    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(30_000)).code).toBe(0);
    expect(pidsRunning(["sleep", marker])).toEqual([]);
  },
  180_000,
);

test.skipIf(unsupported !== null)(
  "a `start` held by a live re-exec's handover that a poweroff then ends without an exec is answered by the running image (the machine shutting down: 75), not left waiting",
  async () => {
    const dir = tempDir();
    disk = stalledDisk(dir);
    const sock = join(dir, "run", "control");
    const marker = String(86_000 + (process.pid % 400) + Math.random()).slice(0, 12);
    const cfg = writeJson(dir, "config.json", {
      pixel_test: false,
      run_dir: join(dir, "run"),
      state_dir: join(disk.mount, "state"),
      heartbeat_ms: 100,
      heartbeat_log_every: 0,
      services: [{ name: "svc", restart: "never", argv: ["sleep", marker] }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
    await waitFor(async () => (await listServices(sock)).find((s) => s.name === "svc")?.state === "running", 30_000, "svc running");
    expect((await runShippedAsync(["stop", "svc", "--socket", sock])).code).toBe(0);
    disk.stall(run.proc.pid);
    const mutate = runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", sock], 120_000);
    const journal = async () => JSON.parse((await runShippedAsync(["status", "--json", "--socket", sock])).out).journal as { nextSeq: number; durableSeq: number };
    await waitFor(async () => {
      const j = await journal();
      return j.nextSeq - 1 > j.durableSeq;
    }, 30_000, "the mutation journaled, not yet durable");
    const mark = run.log().length;
    const reexec = runShippedAsync(["reexec", "--socket", sock, "--timeout", "60000"], 120_000);
    await waitFor(() => run.log().slice(mark).includes("heartbeat stopped"), 60_000, "the handover under way");
    const startSvc = runShippedAsync(["start", "svc", "--socket", sock], 120_000);
    await waitFor(() => run.log().slice(mark).includes("control request held until the live re-exec is done op=start"), 30_000, "the start held");
    // Read-only requests and poweroff are answered during the hold; the shutdown wins over the re-exec.
    expect((await runShippedAsync(["poweroff", "--socket", sock])).code).toBe(0);
    disk.release();
    const r = await reexec;
    expect({ code: r.code, said: r.err.includes("began shutting down") }).toEqual({ code: 75, said: true });
    const started = await startSvc;
    expect(started.code).toBe(75);
    await mutate;
    expect((await run.result(30_000)).code).toBe(0);
    expect(run.log()).not.toContain("reexec: exec path=");
    expect(pidsRunning(["sleep", marker])).toEqual([]);
  },
  180_000,
);
