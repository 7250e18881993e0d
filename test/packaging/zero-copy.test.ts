// Zero-copy shown, not claimed: a compiled program's anonymous memory does not grow with the size of its embedded model.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { appendModel } from "../../src/rts/embed.ts";
import { bun, root, tempDir, writeSyntheticGguf } from "./helpers.ts";

const t = tempDir("zerocopy");
afterAll(() => t.cleanup());
const bare = join(t.dir, "probe.bare");

beforeAll(() => {
  const b = Bun.spawnSync([bun, "build", "--compile", join(import.meta.dir, "fixtures/zero-copy-probe.ts"), "--outfile", bare], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(b.stderr.toString());
}, 120_000);

interface Probe {
  tensors: number;
  bytes: number;
  touched: boolean;
  rssAnonKiB: number;
  rssFileKiB: number;
}

async function probe(mib: number, mode: "map" | "heap"): Promise<Probe> {
  const model = join(t.dir, `m${mib}.gguf`);
  const exe = join(t.dir, `probe-${mib}`);
  if (!(await Bun.file(exe).exists())) {
    writeSyntheticGguf(model, mib);
    await appendModel(bare, model, exe);
    Bun.spawnSync(["chmod", "755", exe]);
  }
  const r = Bun.spawnSync([exe, mode], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${exe} ${mode}: exit ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout.toString()) as Probe;
}

test(
  "mapping a 128 MiB embedded model and reading all of it adds < 16 MiB of anonymous memory over a 1 MiB one; reading it into the heap adds > 100 MiB",
  async () => {
    const small = await probe(1, "map");
    const big = await probe(128, "map");
    const heap = await probe(128, "heap");
    for (const p of [small, big, heap]) {
      expect(p.tensors).toBe(1);
      expect(p.touched).toBe(true);
    }
    expect(big.bytes).toBeGreaterThan(127 * 1048576);
    // Every page of the big model was read: it shows up as file-backed (page cache), not as a private copy.
    expect(big.rssFileKiB - small.rssFileKiB).toBeGreaterThan(100 * 1024);
    expect(Math.abs(big.rssAnonKiB - small.rssAnonKiB)).toBeLessThan(16 * 1024);
    // The reference proves the measurement can see a copy.
    expect(heap.rssAnonKiB - big.rssAnonKiB).toBeGreaterThan(100 * 1024);
  },
  180_000,
);
