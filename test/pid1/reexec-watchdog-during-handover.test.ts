// A live re-exec's handover froze the beat, and with it the watchdog's pets, for as long as the evolution's part waited for its journal (a stalled disk: until the watchdog reset the machine).
import { afterEach, expect, test } from "bun:test";
import { standInWatchdog } from "../harness/stand-in-watchdog.ts";
import { tempDir, waitFor } from "./harness.ts";
import { stalledDiskUnsupported } from "./stalled-disk.ts";
import { bootOnStalledDisk, cleanUpStalledBoot, reexecWaitingForJournal } from "./stalled-handover.ts";

afterEach(cleanUpStalledBoot);

const unsupported = stalledDiskUnsupported();

test.skipIf(unsupported !== null)("a re-exec whose handover waited 3 s for the journal (the state disk stalled under a mutation) left the watchdog unpetted from the beat's freeze to the exec: it is petted every second meanwhile", async () => {
  const wd = standInWatchdog(tempDir());
  const booted = await bootOnStalledDisk({ restart: "never" }, { heartbeat: { watchdog: wd.path } });
  await waitFor(() => booted.run.log().includes("watchdog armed") && wd.bytes.length >= 3, 30_000, "pets from the beat");
  const { mutate, reexec } = await reexecWaitingForJournal(booted, "the beat frozen for the handover");
  const frozen = performance.now();
  await Bun.sleep(3000);
  const during = wd.bytes.filter((b) => b.at > frozen).length;
  booted.disk.release();
  expect((await reexec).code).toBe(0);
  await waitFor(() => booted.run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await mutate;
  // Old code: none (the beat was the only one to pet, and it was frozen).
  expect(during).toBeGreaterThanOrEqual(2);
  booted.run.proc.kill("SIGTERM");
  await booted.run.result(30_000);
}, 120_000);
