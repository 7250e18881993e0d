// Requests that change a handed-over part, asked while a live re-exec hands over: held for the image that carries on, never carried out between two parts.
import { afterEach, expect, test } from "bun:test";
import { runShippedAsync } from "../harness/artifact.ts";
import { pidsRunning, waitFor } from "./harness.ts";
import { listServices } from "./service-boot.ts";
import { stalledDiskUnsupported } from "./stalled-disk.ts";
import { bootOnStalledDisk, cleanUpStalledBoot, reexecWaitingForJournal } from "./stalled-handover.ts";

afterEach(cleanUpStalledBoot);

const unsupported = stalledDiskUnsupported();

// The handover's evolution part waits for the journal (a mutation's fdatasync): the state disk's
// writes are stalled, so that wait lasts until the test lets them go, after the services' snapshot.
test.skipIf(unsupported !== null)(
  "a `start` asked while a live re-exec waited for the journal was carried out by the old image after the services' snapshot: answered 0, the new image listed the service stopped and its process ran unwatched; now it is held and the new image starts it (one process, the one listed)",
  async () => {
    const booted = await bootOnStalledDisk({ restart: "never" });
    const { disk, sock, marker, run } = booted;
    expect((await runShippedAsync(["stop", "svc", "--socket", sock])).code).toBe(0);
    expect(pidsRunning(["sleep", marker])).toEqual([]);

    // A mutation in flight whose fdatasync waits: the handover's evolution part waits for it.
    // The beat freezes first; the services' part is written next, before the evolution's wait.
    const { mutate, reexec, mark } = await reexecWaitingForJournal(booted, "the handover past the services' snapshot");
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
    const booted = await bootOnStalledDisk({ restart: "never" });
    const { disk, sock, marker, run } = booted;
    expect((await runShippedAsync(["stop", "svc", "--socket", sock])).code).toBe(0);
    const { mutate, reexec, mark } = await reexecWaitingForJournal(booted, "the handover under way");
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

test.skipIf(unsupported !== null)(
  "a poweroff while a live re-exec's handover waited for the journal on a disk that no longer answered waited for that disk without limit: no shutdown, no deadline, no reboot until it answered; now the wait counts against the deadline and the shutdown goes on",
  async () => {
    const booted = await bootOnStalledDisk({ restart: "never" }, { shutdown_deadline_ms: 3000 });
    const { disk, sock, run } = booted;
    const { reexec, mark } = await reexecWaitingForJournal(booted, "the handover under way");
    const t0 = performance.now();
    expect((await runShippedAsync(["poweroff", "--socket", sock])).code).toBe(0);
    // The disk is not let go: the shutdown must reach its end on its own (the final sync bounded too).
    await waitFor(() => run.log().slice(mark).includes("shutdown complete"), 20_000, "the shutdown's end", { explain: () => run.log().slice(mark) });
    expect(performance.now() - t0).toBeLessThan(15_000);
    const after = run.log().slice(mark);
    expect(after).toContain("the live re-exec's handover did not end before the shutdown deadline; shutting down beside it");
    expect(after).not.toContain("reexec: exec path=");
    // Its threads in the stalled fdatasync end once the disk answers (afterEach lets it go and ends the process).
    disk.release();
    void reexec;
  },
  180_000,
);
