// A service restarted by its policy while a live re-exec handed over: the new image adopts the process the old one started, not the dead one before it; and that process did not inherit the watchdog.
import { afterEach, expect, test } from "bun:test";
import { openFiles } from "../harness/open-files.ts";
import { standInWatchdog } from "../harness/stand-in-watchdog.ts";
import { tempDir } from "./harness.ts";
import { pidsRunning, waitFor } from "./harness.ts";
import { listServices } from "./service-boot.ts";
import { stalledDiskUnsupported } from "./stalled-disk.ts";
import { bootOnStalledDisk, cleanUpStalledBoot, reexecWaitingForJournal } from "./stalled-handover.ts";

afterEach(cleanUpStalledBoot);

const unsupported = stalledDiskUnsupported();

// As in reexec-held-requests.test.ts: the state disk's writes are stalled, so the handover's
// evolution part waits for a mutation's fdatasync until the test lets it go.
test.skipIf(unsupported !== null)(
  "a service that exited and was restarted by the old image while a live re-exec waited for the journal was handed over with its dead pid: the new image found it gone, killed the new process with its cgroup (without cgroups it ran on unwatched) and counted a failure; now it adopts the running process",
  async () => {
    const booted = await bootOnStalledDisk({ restart: "always", backoff_initial_ms: 20 });
    const { disk, sock, marker, run } = booted;
    const [first] = pidsRunning(["sleep", marker]);

    // The beat freezes first: the handover has begun, and the old image's supervisor still runs.
    const { mutate, reexec, mark } = await reexecWaitingForJournal(booted, "the handover under way");
    process.kill(first!, "SIGKILL");
    let second = 0;
    await waitFor(() => (second = Number(/service started service=svc pid=(\d+)/.exec(run.log().slice(mark))?.[1] ?? 0)) > 0, 30_000, "the old image's restart");
    disk.release();

    expect((await reexec).code).toBe(0);
    await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
    await mutate;
    await waitFor(() => /service adopted service=svc /.test(run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "))), 30_000, "the new image's adoption");
    const adopted = /service adopted service=svc pid=(\d+) state=(\w+) restarts=(\d+)/.exec(run.log().slice(run.log().indexOf("resuming after re-exec generation=1 ")));
    // Old code: the first (dead) pid, restarts 0, then "main process ... is gone" and a third process.
    expect({ pid: Number(adopted?.[1]), state: adopted?.[2], restarts: Number(adopted?.[3]) }).toEqual({ pid: second, state: "running", restarts: 1 });
    await waitFor(async () => (await listServices(sock)).length > 0, 30_000, "the new image's control socket");
    const row = (await listServices(sock)).find((s) => s.name === "svc") as { state: string; pid?: number | null } | undefined;
    expect({ state: row?.state, pid: row?.pid, live: pidsRunning(["sleep", marker]) }).toEqual({ state: "running", pid: second, live: [second] });
    expect(run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "))).not.toContain("is gone");

    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(30_000)).code).toBe(0);
    expect(pidsRunning(["sleep", marker])).toEqual([]);
  },
  180_000,
);

test.skipIf(unsupported !== null)(
  "a service restarted while a live re-exec waited for the journal inherited the watchdog device (made inheritable at the handover's start, for the exec): it could pet the machine's watchdog; now it is inheritable only at the exec itself",
  async () => {
    const wd = standInWatchdog(tempDir());
    const booted = await bootOnStalledDisk({ restart: "always", backoff_initial_ms: 20 }, { heartbeat: { watchdog: wd.path } });
    const { disk, marker, run } = booted;
    await waitFor(() => run.log().includes("watchdog armed"), 30_000, "the watchdog armed");
    const [first] = pidsRunning(["sleep", marker]);
    expect([...openFiles(first!).values()]).not.toContain(wd.path);
    const { mutate, reexec, mark } = await reexecWaitingForJournal(booted, "the handover under way");
    process.kill(first!, "SIGKILL");
    let second = 0;
    await waitFor(() => (second = Number(/service started service=svc pid=(\d+)/.exec(run.log().slice(mark))?.[1] ?? 0)) > 0, 30_000, "the old image's restart");
    const inherited = [...openFiles(second).values()].filter((f) => f === wd.path);
    disk.release();
    expect((await reexec).code).toBe(0);
    await waitFor(() => run.log().includes("watchdog adopted"), 30_000, "the new image's adoption of the watchdog");
    await mutate;
    expect(inherited).toEqual([]);
    expect([...openFiles(second).values()].filter((f) => f === wd.path)).toEqual([]);
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(30_000)).code).toBe(0);
    wd.reader.kill();
  },
  180_000,
);
