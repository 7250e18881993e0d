// The handoff versions: this image writes 12 (the state directory's lock held across the exec, a stop's final wait after SIGKILL), reads 2 to 11 as well (upgrades from images before that), and says so in --version.
import { expect, test } from "bun:test";
import { HANDOFF_READS, HANDOFF_VERSION, handoffVersionsIn, versionLine } from "../../src/boot/handoff-version.ts";
import { handoffSchema } from "../../src/boot/handoff.ts";
import { runShippedAsync } from "../harness/artifact.ts";

const file = (version: number) => ({ version, generation: 1, execBoottimeNs: 1, bootArgs: { extraCmdline: [] }, parts: {} });

test("an image that could not read the `done` state still said handoff 2, so a re-exec into it was taken and it started every service again: this image writes 12, reads 2 to 12, and says 2,3,4,5,6,7,8,9,10,11,12", async () => {
  expect(HANDOFF_VERSION).toBe(12);
  expect(handoffVersionsIn(versionLine("0.1.0"))).toEqual([...HANDOFF_READS]);
  expect(HANDOFF_READS).toContain(HANDOFF_VERSION);
  // An upgrade: a file written by an image before oneshots (version 2) is read; unknown versions are not.
  for (const v of [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) expect({ v, ok: handoffSchema().safeParse(file(v)).success }).toEqual({ v, ok: true });
  for (const v of [1, 13]) expect({ v, ok: handoffSchema().safeParse(file(v)).success }).toEqual({ v, ok: false });
  // The shipped executable says it too (the next image's preflight reads this line).
  const r = await runShippedAsync(["--version"]);
  expect(r.code).toBe(0);
  expect(handoffVersionsIn(r.out)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});
