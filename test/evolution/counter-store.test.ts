// A producer's ring counter is never seen half-written: the consumer read a submission tail of 0 while Python's struct.pack_into rewrote it.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../harness/artifact.ts";
import { runPython } from "./harness.ts";

/**
 * A C reader spins on one aligned u32 with 32-bit atomic loads (as the consumer's Atomics.load does)
 * while Python counts it up from 1: every value read must be 0 only before the first store and
 * never go backwards. Word 3 says a read went backwards (the control run stops then). Prints
 * `<reads> <bad>`.
 */
const READER = `
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = open(argv[1], O_RDWR);
  uint32_t *w = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (fd < 0 || w == MAP_FAILED) return 2;
  __atomic_store_n(&w[1], 1, __ATOMIC_SEQ_CST); /* ready */
  uint32_t last = 0; long reads = 0, bad = 0;
  while (!__atomic_load_n(&w[2], __ATOMIC_ACQUIRE)) { /* until the writer is done */
    uint32_t v = __atomic_load_n(&w[16], __ATOMIC_ACQUIRE);
    if (v < last) { bad++; __atomic_store_n(&w[3], 1, __ATOMIC_RELEASE); } else last = v;
    reads++;
  }
  printf("%ld %ld\\n", reads, bad);
  return 0;
}`;

/**
 * Counts word 16 of the file up from 1, with the client's ControlWords (400,000 stores) or with
 * struct.pack_into (until the reader has caught a torn store, at most 60 s: on a loaded machine the
 * two may share a CPU for a while, and a fixed count was sometimes over before they overlapped).
 */
const WRITER = `
import mmap, os, struct, sys, time
from vector_boot_evolution.words import ControlWords
if len(os.sched_getaffinity(0)) > 1:
    os.sched_setaffinity(0, {1})  # the reader is on CPU 0: the two run at the same time
fd = os.open(sys.argv[1], os.O_RDWR)
mem = mmap.mmap(fd, 4096)
words = ControlWords(mem)
deadline = time.monotonic() + 10
while words.load(4) != 1 and time.monotonic() < deadline:
    time.sleep(0.001)
u32 = struct.Struct("<I")
if sys.argv[2] == "client":
    for v in range(1, 400001):
        words.store(64, v)
else:
    v = 0
    until = time.monotonic() + 60
    while words.load(12) != 1 and time.monotonic() < until:
        for _ in range(10000):
            v += 1
            u32.pack_into(mem, 64, v)
words.store(8, 1)
words.release()
`;

async function race(dir: string, reader: string, how: "client" | "pack_into"): Promise<{ reads: number; bad: number }> {
  const file = join(dir, `words-${how}`);
  writeFileSync(file, new Uint8Array(4096));
  const r = Bun.spawn(["taskset", "-c", "0", reader, file], { stdout: "pipe", stderr: "pipe" });
  try {
    await runPython(WRITER, [file, how], 90_000);
  } catch (e) {
    r.kill(9);
    throw e;
  }
  const [out, code] = await Promise.all([new Response(r.stdout).text(), r.exited]);
  expect(code).toBe(0);
  const [reads, bad] = out.trim().split(" ").map(Number) as [number, number];
  return { reads, bad };
}

test("a ring counter stored by the Python client is never read half-written (struct.pack_into zeroes the word first; the consumer saw a tail of 0)", async () => {
  const dir = tempDir("vb-counter-");
  const src = join(dir, "reader.c");
  const reader = join(dir, "reader");
  writeFileSync(src, READER);
  const cc = Bun.spawnSync(["gcc", "-O2", "-o", reader, src], { stderr: "pipe" });
  expect(cc.stderr.toString()).toBe("");
  // The way the client used to store: the reader must catch it, or this machine cannot tell.
  const control = await race(dir, reader, "pack_into");
  console.log(`struct.pack_into: ${control.bad} of ${control.reads} reads went backwards`);
  expect(control.bad).toBeGreaterThan(0);
  const client = await race(dir, reader, "client");
  console.log(`ControlWords: ${client.bad} of ${client.reads} reads went backwards`);
  expect(client.reads).toBeGreaterThan(0);
  expect(client.bad).toBe(0);
}, 180_000);
