// Lineage: booting another base model on the same state dir used to keep running the old model's checkpoint (kernel.* included).
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { readGguf } from "../../src/gguf/reader.ts";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, root, start, tempDir, waitFor } from "../pid1/harness.ts";
import { newestCheckpoint } from "./shipped-cli.ts";

afterEach(killLeftovers);

const sha = (p: string) => new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex");

/** pixel.1.bias and kernel.cortex.threshold of a GGUF (the newest checkpoint, or a base model). */
function tensors(path: string): { bias: number[]; threshold: number[] } {
  const f = readGguf(new Uint8Array(readFileSync(path)));
  const get = (name: string) => {
    const copy = new Uint8Array(f.tensorByName(name)!.data); // F32 (biases and kernel.* are)
    return Array.from(new Float32Array(copy.buffer));
  };
  return { bias: get("pixel.1.bias"), threshold: get("kernel.cortex.threshold") };
}

async function bootOnce(model: string, dir: string, state: string, mutate?: number): Promise<string> {
  const run = start(["boot", "--model", model, "--set", `state_dir=${state}`, "--set", `run_dir=${join(dir, "run")}`]);
  await waitFor(() => run.log().includes("phase heartbeat"), 30_000, "boot");
  if (mutate !== undefined) {
    const m = runShipped(["mutate", "pixel.1.bias", "0", "--values", String(mutate), "--confidence", "0.9", "--json", "--socket", join(dir, "run/control")]);
    expect(JSON.parse(m.stdout).statusName).toBe("ACCEPTED");
  }
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
  return r.stderr;
}

test("a different base model on the same state dir runs exactly its own weights; the old history is archived under lineages/<sha>, inspectable, and resumed when that model boots again", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const gen = (out: string, seed: string) => {
    const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", out, "--seed", seed], { stderr: "pipe", timeout: 60_000 });
    expect(g.exitCode).toBe(0);
  };
  const a = join(dir, "a.gguf");
  const b = join(dir, "b.gguf");
  gen(a, "1");
  gen(b, "2");
  // Boot 1: model A, one mutation; its shutdown checkpoint holds it.
  await bootOnce(a, dir, state, 4.5);
  expect(tensors(newestCheckpoint(state)).bias[0]).toBe(4.5);
  // Boot 2: model B. Its weights are exactly B's: no replay of A's journal, no A checkpoint.
  const log2 = await bootOnce(b, dir, state);
  expect(log2).toContain("base model changed: the previous lineage is archived, not replayed");
  // B boots from its own base with nothing replayed, and no checkpoint of A's is left in the live state
  // (B applied nothing, so its shutdown wrote no copy of its base either).
  expect(log2).toMatch(/phase evolution .*checkpoint=base replayed=0/);
  const live = join(state, "checkpoints");
  expect(existsSync(live) ? readdirSync(live).filter((f) => f.endsWith(".gguf")) : []).toEqual([]);
  expect(readFileSync(join(state, "LINEAGE"), "utf8").trim()).toBe(sha(b));
  // A's history is kept and inspectable.
  const archived = join(state, "lineages", sha(a));
  expect(existsSync(join(archived, "journal"))).toBe(true);
  const inspectA = JSON.parse(runShipped(["journal", "inspect", "--json", "--state", archived]).stdout);
  expect(inspectA.mutations).toBe(1);
  expect(inspectA.lineage.base).toBe(sha(a));
  const inspect = JSON.parse(runShipped(["journal", "inspect", "--json", "--state", state]).stdout);
  expect(inspect.lineage).toEqual({ base: sha(b), archived: [sha(a)] });
  // Boot 3: model A again resumes A's lineage (its mutation is back); B's is archived in turn.
  const log3 = await bootOnce(a, dir, state);
  expect(log3).toContain("resumed=true");
  const t = tensors(newestCheckpoint(state));
  expect(t.bias[0]).toBe(4.5);
  expect(t.threshold).toEqual(tensors(a).threshold);
  expect(existsSync(join(state, "lineages", sha(b)))).toBe(true);
  expect(existsSync(archived)).toBe(false);
}, 120_000);

test("a lineage archive cut short by a crash (journal and checkpoints moved under lineages/<sha>, LINEAGE not yet) then booted on the same model started an empty journal over the base: the acknowledged mutation was gone and sequence 1 handed out again; the move is finished first", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const a = join(dir, "a.gguf");
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", a, "--seed", "1"], { stderr: "pipe", timeout: 60_000 });
  expect(g.exitCode).toBe(0);
  await bootOnce(a, dir, state, 4.5);
  // What a crash between the renames of an archive (another model's boot) leaves: LINEAGE still names A.
  const split = join(state, "lineages", sha(a));
  mkdirSync(split, { recursive: true });
  for (const p of ["journal", "checkpoints"]) renameSync(join(state, p), join(split, p));
  const log2 = await bootOnce(a, dir, state, 7.25);
  expect(log2).toContain("lineage: finished a move a crash cut short");
  expect(log2).toMatch(/phase evolution .*checkpoint=\S+ckpt-\d+\.gguf/);
  expect(existsSync(split)).toBe(false);
  // Both acknowledged mutations are in one journal, in order (the second did not reuse sequence 1).
  const inspect = JSON.parse(runShipped(["journal", "inspect", "--records", "--json", "--state", state]).stdout) as { records: { seq: number; type: string; tensor?: string }[] };
  const mutations = inspect.records.filter((r) => r.type === "mutation").map((r) => r.seq);
  expect(mutations.length).toBe(2);
  expect(mutations[0]).toBe(1);
  expect(mutations[1]!).toBeGreaterThan(1);
  expect(tensors(newestCheckpoint(state)).bias[0]).toBe(7.25);
}, 120_000);
