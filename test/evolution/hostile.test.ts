// A hostile producer (random bytes, wrong CRCs, huge/backward counters, truncation, death mid-write) never stops the consumer.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync } from "node:fs";
import { join } from "node:path";
import { C, channelCrc, CMP_SLOT_SIZE, cmpSlotOffset, type Geometry, S, SUB_SLOT_SIZE, subSlotOffset } from "../../src/evolution/layout.ts";
import { statusName } from "../../src/evolution/reasons.ts";
import { decodeCompletion, encodeSubmission, submissionCrcEnd } from "../../src/evolution/slot-codec.ts";
import { type Consumer, removeDir, runPython, startConsumer, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function dirsFor(name: string) {
  const d = tempDir(`vb-hostile-${name}-`);
  dirs.push(d);
  return { state: join(d, "state"), run: join(d, "run") };
}

/** A raw producer session written in TypeScript, free to break every rule. */
async function rawSession(socket: string) {
  let buf = "";
  let bells = 0;
  let helloResolve: (h: any) => void;
  const hello = new Promise<any>((r) => (helloResolve = r));
  const sock = await Bun.connect({
    unix: socket,
    socket: {
      data(_s, d) {
        if (buf.includes("\n")) return void (bells += d.length);
        buf += d.toString();
        if (buf.includes("\n")) helloResolve(JSON.parse(buf.slice(0, buf.indexOf("\n"))));
      },
    },
  });
  const h = await Promise.race([hello, Bun.sleep(20_000).then(() => Promise.reject(new Error("no hello")))]);
  if (h.error) throw new Error(h.error);
  const mem = Bun.mmap(h.path, { shared: true });
  const v = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const hdr = (o: number) => v.getUint32(o, true);
  const g: Geometry = { rings: hdr(12), slots: hdr(20) };
  const base = 4096 + h.ring * hdr(16);
  return {
    h,
    g,
    mem,
    ring: h.ring as number,
    get: (f: number) => v.getUint32(base + f, true),
    set: (f: number, x: number) => v.setUint32(base + f, x >>> 0, true),
    bell: () => sock.write("!"),
    bells: () => bells,
    close: () => sock.end(),
  };
}

/** Waits until `cond` holds (bounded). */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await Bun.sleep(5);
  }
}

/** Waits until the async `cond` holds (bounded). */
async function untilAsync(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await Bun.sleep(5);
  }
}

async function honestRoundTrip(c: Consumer): Promise<string> {
  const out = await runPython(
    `import sys\nfrom vector_boot_evolution import Client\nwith Client(sys.argv[1]) as c: print(c.mutate("pixel.bias", 1, [0.25], 0.9).status_name)`,
    [c.socket],
  );
  return out[0]!;
}

describe("hostile producer", () => {
  test("survives random bytes in every slot and counter, counting the protocol errors", async () => {
    const d = dirsFor("random");
    const c = await startConsumer(d.state, d.run, ["--beat-ms", "5"]);
    try {
      const p = await rawSession(c.socket);
      let s = 42;
      const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
      const ringStart = subSlotOffset(p.g, p.ring, 0) - 256;
      for (let round = 0; round < 200; round++) {
        for (let i = ringStart; i < ringStart + 256 + p.g.slots * (SUB_SLOT_SIZE + CMP_SLOT_SIZE); i += 4) {
          p.mem[i] = rnd() & 0xff;
        }
        p.set(C.subTail, round % 3 === 0 ? rnd() : rnd() % (p.g.slots + 1));
        p.set(C.cmpHead, round % 2 ? rnd() : 0);
        p.bell();
        if (round % 20 === 0) await Bun.sleep(10);
      }
      await untilAsync(async () => (await c.ask("stats")).stats.protocolErrors > 0, 20_000);
      const st = await c.ask("stats");
      expect(st.stats.accepted).toBe(0);
      expect(st.checksum).toBe(c.ready.checksum);
      expect(c.proc.exitCode).toBeNull();
      p.close();
      expect(await honestRoundTrip(c)).toBe("ACCEPTED");
    } finally {
      await c.kill();
    }
  }, 30000);

  test("answers a wrong CRC, a wrong sequence and an unknown kind with their reason codes", async () => {
    const d = dirsFor("codes");
    const c = await startConsumer(d.state, d.run);
    try {
      const p = await rawSession(c.socket);
      const slot = new Uint8Array(SUB_SLOT_SIZE);
      const put = (i: number, mutate: (b: Uint8Array) => void, seq = BigInt(i)) => {
        encodeSubmission(slot, { seq, tag: BigInt(100 + i), tensor: "pixel.w", elementOffset: i, values: Float32Array.of(0.5), confidence: 0.9 });
        mutate(slot);
        p.mem.set(slot, subSlotOffset(p.g, p.ring, i));
      };
      put(0, (b) => (b[S.values]! ^= 1)); // payload changed after the CRC: BAD_CHECKSUM
      put(1, () => {}, 7n); // sequence 7 where 1 is due: BAD_SEQUENCE
      put(2, (b) => {
        new DataView(b.buffer).setUint32(S.kind, 9, true);
        new DataView(b.buffer).setUint32(0, channelCrc(b, 4, submissionCrcEnd(1)), true);
      }); // BAD_KIND
      put(3, () => {}); // valid
      p.set(C.subTail, 4);
      p.bell();
      await until(() => p.get(C.cmpTail) === 4);
      const got = new Map<bigint, string>();
      for (let i = 0; i < 4; i++) {
        const cmp = decodeCompletion(p.mem.subarray(cmpSlotOffset(p.g, p.ring, i), cmpSlotOffset(p.g, p.ring, i) + CMP_SLOT_SIZE))!;
        got.set(cmp.tag, statusName[cmp.status]!);
      }
      expect(Object.fromEntries([...got].map(([k, x]) => [String(k), x]))).toEqual({
        "100": "BAD_CHECKSUM",
        "101": "BAD_SEQUENCE",
        "102": "BAD_KIND",
        "103": "ACCEPTED",
      });
      p.close();
    } finally {
      await c.kill();
    }
  }, 30000);

  test("a tail moved backwards or a billion slots ahead stalls only that ring, which recovers when repaired", async () => {
    const d = dirsFor("counters");
    const c = await startConsumer(d.state, d.run);
    try {
      const p = await rawSession(c.socket);
      p.set(C.subTail, 0xfffffffb); // head is 0: "backwards" by 5
      p.bell();
      await untilAsync(async () => (await c.ask("stats")).stats.protocolErrors >= 1, 20_000);
      p.set(C.subTail, 1_000_000_000);
      p.bell();
      await untilAsync(async () => (await c.ask("stats")).stats.protocolErrors >= 2, 20_000);
      const slot = new Uint8Array(SUB_SLOT_SIZE);
      encodeSubmission(slot, { seq: 0n, tag: 5n, tensor: "cortex.w", elementOffset: 0, values: Float32Array.of(1), confidence: 0.9 });
      p.mem.set(slot, subSlotOffset(p.g, p.ring, 0));
      p.set(C.subTail, 1);
      p.bell();
      await until(() => p.get(C.cmpTail) === 1);
      const cmp = decodeCompletion(p.mem.subarray(cmpSlotOffset(p.g, p.ring, 0), cmpSlotOffset(p.g, p.ring, 0) + CMP_SLOT_SIZE))!;
      expect(statusName[cmp.status]).toBe("ACCEPTED");
      expect(cmp.journalSeq).toBe(1n);
      p.close();
    } finally {
      await c.kill();
    }
  }, 30000);

  test("cannot truncate or grow the shared memory (sealed memfd): no SIGBUS for the consumer", async () => {
    const d = dirsFor("truncate");
    const c = await startConsumer(d.state, d.run);
    try {
      const p = await rawSession(c.socket);
      const fd = openSync(p.h.path, "r+");
      try {
        expect(() => ftruncateSync(fd, 0)).toThrow(/EPERM|not permitted/);
        expect(() => ftruncateSync(fd, 100)).toThrow(/EPERM|not permitted/);
        expect(() => ftruncateSync(fd, p.h.size * 2)).toThrow(/EPERM|not permitted/);
      } finally {
        closeSync(fd);
      }
      p.bell();
      expect((await c.ask("stats")).stats.sessions).toBe(1); // the consumer answers: alive, session intact
      expect(c.proc.exitCode).toBeNull();
      p.close();
      expect(await honestRoundTrip(c)).toBe("ACCEPTED");
    } finally {
      await c.kill();
    }
  }, 30000);

  test("a producer SIGKILLed in the middle of writing a slot: the torn slot is refused with BAD_CHECKSUM and its ring serves the next session", async () => {
    const d = dirsFor("death");
    const c = await startConsumer(d.state, d.run, ["--rings", "1"]);
    try {
      // The slot the producer means to write: a valid mutation that fills all 512 bytes (100 values),
      // so a slot cut anywhere before its end fails its CRC.
      const slot = new Uint8Array(SUB_SLOT_SIZE);
      encodeSubmission(slot, { seq: 0n, tag: 77n, tensor: "pixel.w", elementOffset: 0, values: new Float32Array(100).fill(0.3), confidence: 0.9 });
      const half = SUB_SLOT_SIZE / 2;
      // It writes the first half, publishes the slot and rings, then writes the rest one byte at a time,
      // reporting each step on stdout before the next; it is killed from outside between two of them.
      const producer = Bun.spawn(
        [
          "python3",
          "-c",
          `
import sys, os, json, socket, mmap, struct, time
def report(**kw): print(json.dumps(kw), flush=True)
slot = bytes.fromhex(sys.argv[2]); half = int(sys.argv[3])
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
h = json.loads(s.makefile().readline())
fd = os.open(h["path"], os.O_RDWR); m = mmap.mmap(fd, h["size"])
base = 4096 + h["ring"] * struct.unpack_from("<I", m, 16)[0]
off = base + 256  # submission slot 0 of the ring
report(stage="hello", ring=h["ring"], path=h["path"], size=h["size"], slot_offset=off)
m[off:off + half] = slot[:half]
struct.pack_into("<I", m, base, 1)  # publish: submission tail = 1
s.send(b"!")
report(stage="published", written=half)
for i in range(half, len(slot)):
    m[off + i] = slot[i]
    report(stage="writing", written=i + 1)
    time.sleep(0.05)
report(stage="finished")
`,
          c.socket,
          Buffer.from(slot).toString("hex"),
          String(half),
        ],
        { stdout: "pipe", stderr: "pipe" },
      );
      const progress: any[] = [];
      const reading = (async () => {
        let buf = "";
        for await (const chunk of producer.stdout) {
          buf += new TextDecoder().decode(chunk);
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            progress.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        }
      })();
      const last = () => progress.at(-1);
      try {
        // The consumer took the published half slot, and the producer is past the half: writing the rest.
        await until(() => last()?.stage === "writing" || last()?.stage === "finished", 20_000);
        await untilAsync(async () => (await c.ask("stats")).stats.submissions === 1, 20_000);
      } finally {
        producer.kill("SIGKILL");
      }
      const [, err] = await Promise.all([producer.exited, new Response(producer.stderr).text(), reading]);
      // Really killed mid-write: by SIGKILL, with the slot neither untouched nor complete.
      expect(err).toBe("");
      expect(producer.signalCode).toBe("SIGKILL");
      expect(progress.some((p) => p.stage === "finished")).toBe(false);
      const hello = progress[0];
      expect(hello.stage).toBe("hello");
      const written = last().written as number;
      expect(written).toBeGreaterThan(half);
      expect(written).toBeLessThan(SUB_SLOT_SIZE);
      // The shared memory holds exactly that torn slot: the bytes written so far, zeros after them
      // (the kill may have landed between a byte's write and its report: one byte more, never two).
      const mem = Bun.mmap(hello.path, { shared: true });
      const inRing = mem.subarray(hello.slot_offset, hello.slot_offset + SUB_SLOT_SIZE);
      const landed = inRing[written] === slot[written] && slot[written] !== 0 ? written + 1 : written;
      expect(Buffer.from(inRing.subarray(0, landed)).equals(Buffer.from(slot.subarray(0, landed)))).toBe(true);
      expect(inRing.subarray(landed).every((b) => b === 0)).toBe(true);
      // The consumer answered the torn slot with its reason code, posted on the producer's ring.
      const g: Geometry = { rings: 1, slots: new DataView(mem.buffer, mem.byteOffset).getUint32(20, true) };
      const cmp = decodeCompletion(mem.subarray(cmpSlotOffset(g, 0, 0), cmpSlotOffset(g, 0, 0) + CMP_SLOT_SIZE))!;
      expect(cmp).not.toBeNull();
      expect({ status: statusName[cmp.status], tag: cmp.tag, journalSeq: cmp.journalSeq }).toEqual({ status: "BAD_CHECKSUM", tag: 77n, journalSeq: 0n });
      // The dead session's ring is freed (one ring only: the next session gets it) and the channel works.
      await untilAsync(async () => (await c.ask("stats")).stats.sessions === 0, 20_000);
      expect(c.proc.exitCode).toBeNull();
      expect(await honestRoundTrip(c)).toBe("ACCEPTED");
      const st = (await c.ask("stats")).stats;
      expect({ sessions: st.sessions, submissions: st.submissions, accepted: st.accepted, rejected: st.rejected }).toEqual({ sessions: 0, submissions: 2, accepted: 1, rejected: { BAD_CHECKSUM: 1 } });
    } finally {
      await c.kill();
    }
  }, 60000);
});
