// A checkpoint was read whole onto the heap to check its size and CRC at boot: PID 1 took the model's size in memory again (and over 4 GiB, Bun's buffer limit, could not read it); it is read in 4 MiB pieces.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { removeDir, tempDir } from "./harness.ts";
import { at } from "../journal/sync-under-strace.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const GIB = 1 << 30;

// In a child process, so its peak RSS is the check's alone: a sparse 1 GiB checkpoint (zeros) with
// its record, checked by verifiedCheckpoints; prints the peak RSS before and after, in bytes.
const scenario = `
import { closeSync, ftruncateSync, openSync } from "node:fs";
import { join } from "node:path";
import { encodeCheckpointRecord } from ${at("src/journal/checkpoint-record.ts")};
import { crc32cUpdate } from ${at("src/journal/crc32c.ts")};
import { RecordType } from ${at("src/journal/format.ts")};
import { checkpointDirOf, checkpointFileName, verifiedCheckpoints } from ${at("src/evolution/persistence.ts")};
const [stateDir, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const file = checkpointFileName(1);
const fd = openSync(join(checkpointDirOf(stateDir), file), "w");
ftruncateSync(fd, size);
closeSync(fd);
const zeros = new Uint8Array(4 << 20);
let crc = 0;
for (let done = 0; done < size; done += zeros.length) crc = crc32cUpdate(crc, zeros, 0, Math.min(zeros.length, size - done));
const payload = encodeCheckpointRecord({ coveredSeq: 1, file, size, crc });
const records = [{ seq: 2, durable: 2, type: RecordType.checkpoint, payload, offset: 0, size: payload.length, segment: "x" }];
Bun.gc(true);
const before = process.resourceUsage().maxRSS * 1024;
const good = verifiedCheckpoints(stateDir, records);
const after = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ verified: good.map((g) => g.file), before, after }));
`;

test("a 1 GiB checkpoint was read whole to check its recorded size and CRC at boot (PID 1's peak memory grew by the model's size); it is checked in 4 MiB pieces", async () => {
  const d = tempDir("vb-ckpt-mem-");
  dirs.push(d);
  const stateDir = join(d, "state");
  mkdirSync(join(stateDir, "checkpoints"), { recursive: true });
  const script = join(d, "scenario.ts");
  await Bun.write(script, scenario);
  const p = Bun.spawnSync([process.execPath, script, stateDir, String(GIB)], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(p.exitCode, p.stderr.toString()).toBe(0);
  const r = JSON.parse(p.stdout.toString().trim().split("\n").at(-1)!) as { verified: string[]; before: number; after: number };
  expect(r.verified).toEqual(["ckpt-00000000000000000001.gguf"]);
  // The whole file read would add 1 GiB; the pieces add one 4 MiB buffer (64 MiB allowed for the allocator).
  expect(r.after - r.before).toBeLessThan(64 << 20);
}, 90_000);
