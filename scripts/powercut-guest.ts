// Runs inside the QEMU guest of scripts/qemu-powercut.ts (bundled by it; a service: BUN_BE_BUN=1 /sbin/vector-boot THIS): reports the weights, then streams mutations until the power goes.
// Kernel command line: `vbtest.round=R vbtest.seed=S` (stream seed), `vbtest.final=1` (report only, then power off).
// Every result is one console line `powercut: WHAT {json}`; the host judges them. Each ack is printed as it comes.
import { closeSync, fdatasyncSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { controlRequest } from "../src/control/client.ts";
import { C, CMP_SLOT_SIZE, cmpSlotOffset, SUB_SLOT_SIZE, subSlotOffset } from "../src/evolution/layout.ts";
import { statusName } from "../src/evolution/reasons.ts";
import { decodeCompletion, encodeSubmission } from "../src/evolution/slot-codec.ts";
import { readGguf } from "../src/gguf/reader.ts";
import { crc32c } from "../src/journal/crc32c.ts";
import { openSession } from "../test/evolution/ts-producer.ts";
import { encodeValues, POWERCUT_TENSORS, streamMutation } from "./powercut-stream.ts";

// The executable starts reluctant to JIT (scripts/compile-flags.ts: its boot code runs once); a script it
// runs as Bun (BUN_BE_BUN=1) is a workload: the normal policy, as src/util/jit-policy.ts sets it.
Bun.unsafe.setJITPolicy(1);

/** The guest's paths (the environment overrides them for a run on the host against `vector-boot boot`). */
const STATE_DIR = process.env.VB_POWERCUT_STATE_DIR ?? "/var/lib/vector-boot";
const RUN_DIR = process.env.VB_POWERCUT_RUN_DIR ?? "/run/vector-boot";
/** Bounds: the host kills the machine long before; these only keep a forgotten guest from running forever. */
const MAX_MUTATIONS = 100_000;
const STREAM_LIMIT_MS = 120_000;

const cmdline = readFileSync("/proc/cmdline", "utf8");
const param = (k: string) => new RegExp(`(?:^|\\s)vbtest\\.${k}=(\\S+)`).exec(cmdline)?.[1];
const round = Number(param("round") ?? "0");
const seed = Number(param("seed") ?? "1");
const final = param("final") === "1";
const report = (what: string, value: unknown) => process.stdout.write(`powercut: ${what} ${JSON.stringify(value)}\n`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function control(body: Parameters<typeof controlRequest>[0]): Promise<any> {
  return await controlRequest(body, { path: join(RUN_DIR, "control"), timeoutMs: 120_000 });
}

// 1. The init is up (bounded wait for its control socket).
const deadline = Date.now() + 120_000;
let status: any = null;
while (status === null) {
  try {
    status = await control({ op: "status" });
  } catch (e) {
    if (Date.now() > deadline) {
      report("error", { step: "status", error: String(e) });
      process.exit(1);
    }
    await Bun.sleep(200);
  }
}

// 2. The weights this boot runs on: a checkpoint of them now, verified (size, CRC32C) and read back.
try {
  const ck = await control({ op: "checkpoint" });
  const bytes = new Uint8Array(readFileSync(join(STATE_DIR, "checkpoints", ck.file)));
  const whole = bytes.length === ck.size && crc32c(bytes) === ck.crc;
  const g = readGguf(bytes);
  const values: Record<string, string> = {};
  for (const [name, n] of POWERCUT_TENSORS) {
    const t = g.tensorByName(name);
    if (!t || t.type !== 0 || t.data.byteLength !== n * 4) throw new Error(`${ck.file}: no F32 tensor ${name} of ${n} elements`);
    values[name] = encodeValues(new Float32Array(t.data.slice().buffer));
  }
  report("state", { round, journal: status.journal, checkpoint: ck, whole, values });
} catch (e) {
  report("error", { step: "state", error: String(e) });
  process.exit(1);
}

if (final) {
  report("poweroff", await control({ op: "poweroff" }).catch((e) => String(e)));
  process.exit(0);
}

// 3. The floor: append 64 bytes + fdatasync on the same (virtio) disk, before the stream starts.
if (round === 0) {
  const path = join(STATE_DIR, "raw-fsync.bin");
  const fd = openSync(path, "w");
  const buf = new Uint8Array(64).fill(7);
  const lat: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    writeSync(fd, buf);
    fdatasyncSync(fd);
    lat.push(performance.now() - t);
  }
  closeSync(fd);
  unlinkSync(path);
  report("fsync", { n: lat.length, p50: pct(lat, 50), p99: pct(lat, 99) });
}

// 4. The stream: one mutation in flight; each acknowledgement printed the moment it is read.
let bell: (() => void) | null = null;
const { sock, ring, mem, v, g, base } = await openSession(join(RUN_DIR, "evolution.sock"), () => bell?.());
const slot = new Uint8Array(SUB_SLOT_SIZE);
let tail = 0;
let cmpHead = 0;
const lat: number[] = [];
const started = Date.now();
for (let i = 0; i < MAX_MUTATIONS && Date.now() - started < STREAM_LIMIT_MS; i++) {
  const m = streamMutation(seed, i);
  const t0 = performance.now();
  encodeSubmission(slot, { tensor: m.tensor, elementOffset: m.offset, values: Float32Array.from(m.values), confidence: 0.95, seq: BigInt(i), tag: BigInt(i) });
  mem.set(slot, subSlotOffset(g, ring, tail));
  tail = (tail + 1) >>> 0;
  v.setUint32(base + C.subTail, tail, true);
  sock.write("!"); // the doorbell
  let done = null;
  while (done === null) {
    if (v.getUint32(base + C.cmpTail, true) !== cmpHead) {
      const o = cmpSlotOffset(g, ring, cmpHead);
      done = decodeCompletion(mem.subarray(o, o + CMP_SLOT_SIZE));
      if (done === null) await Bun.sleep(1); // seen before its bytes: read again
      continue;
    }
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 20);
      bell = () => (clearTimeout(timer), (bell = null), r());
    });
  }
  cmpHead = (cmpHead + 1) >>> 0;
  v.setUint32(base + C.cmpHead, cmpHead, true);
  const us = Math.round((performance.now() - t0) * 1000);
  if (statusName[done.status] !== "ACCEPTED" || done.tag !== BigInt(i)) {
    report("refused", { i, status: statusName[done.status], tag: String(done.tag), text: done.text });
    break;
  }
  lat.push(us / 1000);
  process.stdout.write(`powercut: ack {"i":${i},"j":${done.journalSeq},"us":${us}}\n`);
}
report("stream-ended", { n: lat.length });
