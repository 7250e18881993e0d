// A hostile producer (random bytes, wrong CRCs, huge/backward counters, truncation, death mid-write) never stops the consumer.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync } from "node:fs";
import { join } from "node:path";
import { C, CMP_SLOT_SIZE, cmpSlotOffset, type Geometry, S, SUB_SLOT_SIZE, subSlotOffset } from "../../src/evolution/layout.ts";
import { statusName } from "../../src/evolution/reasons.ts";
import { decodeCompletion, encodeSubmission, submissionCrcEnd } from "../../src/evolution/slot-codec.ts";
import { crc32c } from "../../src/journal/crc32c.ts";
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
  const h = await Promise.race([hello, Bun.sleep(5000).then(() => Promise.reject(new Error("no hello")))]);
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
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
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
      await Bun.sleep(100);
      const st = await c.ask("stats");
      expect(st.stats.protocolErrors).toBeGreaterThan(0);
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
        new DataView(b.buffer).setUint32(0, crc32c(b, 4, submissionCrcEnd(1)), true);
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
      await Bun.sleep(50);
      p.set(C.subTail, 1_000_000_000);
      p.bell();
      await Bun.sleep(50);
      expect((await c.ask("stats")).stats.protocolErrors).toBeGreaterThanOrEqual(2);
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
      await Bun.sleep(50);
      expect(c.proc.exitCode).toBeNull();
      p.close();
      expect(await honestRoundTrip(c)).toBe("ACCEPTED");
    } finally {
      await c.kill();
    }
  }, 30000);

  test("a producer killed in the middle of writing a slot frees its ring for the next session", async () => {
    const d = dirsFor("death");
    const c = await startConsumer(d.state, d.run, ["--rings", "1"]);
    try {
      // The Python producer writes half a slot, publishes it, and SIGKILLs itself.
      await runPython(
        `
import sys, os, json, socket, mmap, struct, signal
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
h = json.loads(s.makefile().readline())
fd = os.open(h["path"], os.O_RDWR); m = mmap.mmap(fd, h["size"])
stride = struct.unpack_from("<I", m, 16)[0]
base = 4096 + h["ring"] * stride
m[base + 256: base + 256 + 200] = os.urandom(200)
struct.pack_into("<I", m, base, 1)
s.send(b"!")
os.kill(os.getpid(), signal.SIGKILL)
`,
        [c.socket],
      ).catch(() => {});
      await Bun.sleep(100);
      expect(c.proc.exitCode).toBeNull();
      expect(await honestRoundTrip(c)).toBe("ACCEPTED");
      const st = await c.ask("stats");
      expect(st.stats.sessions).toBe(0);
    } finally {
      await c.kill();
    }
  }, 30000);
});
