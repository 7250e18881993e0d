// Acknowledged history the journal no longer holds (journal removed, overwritten, cut by a repair) while a checkpoint file proves it was durable: the boot and `journal verify` refuse, naming the way out.
import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { controlMutate } from "./shipped-cli.ts";
import { controlRequest } from "../../src/control/client.ts";

afterEach(killLeftovers);

/**
 * A state dir with acknowledged mutations 1-3, a checkpoint covering them (record 4), mutation 5,
 * and the checkpoint of the clean shutdown after it. Returns the boot arguments and the paths.
 */
async function history(): Promise<{ args: string[]; state: string; segment: string }> {
  const dir = tempDir();
  const state = join(dir, "state");
  const cfg = writeJson(dir, "config.json", { pixel_test: false, state_dir: state, run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 } });
  const sock = join(dir, "run", "control");
  const run = start(["boot", "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  for (const i of [0, 1, 2]) expect(controlMutate(sock, ["pixel.1.bias", String(i), "--values", `1.${i}`, "--confidence", "0.9"]).json).toMatchObject({ statusName: "ACCEPTED", journalSeq: i + 1 });
  expect(await controlRequest({ op: "checkpoint" }, { path: sock })).toMatchObject({ coveredSeq: 3 });
  expect(controlMutate(sock, ["pixel.1.bias", "3", "--values", "1.3", "--confidence", "0.9"]).json).toMatchObject({ statusName: "ACCEPTED", journalSeq: 5 });
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
  const journal = join(state, "journal");
  return { args: ["boot", "--config", cfg, "--set", "shutdown_after=1"], state, segment: join(journal, readdirSync(journal).find((f) => f.endsWith(".vbj"))!) };
}

/** Boots the state again; a boot that would come up stops by itself after a second. */
async function bootAgain(args: string[]): Promise<{ code: number; stderr: string }> {
  return (await start(args).result(30_000)) as { code: number; stderr: string };
}

test("a removed journal beside valid checkpoints: the boot came up from the base model (every acknowledged mutation gone, their sequence numbers reused) and verify said OK", async () => {
  const h = await history();
  rmSync(join(h.state, "journal"), { recursive: true });
  const v = runShipped(["journal", "verify", "--state", h.state]);
  expect(v.code).toBe(65);
  expect(v.stdout).toContain("CANNOT BOOT: checkpoint");
  expect(v.stdout).toContain("covers acknowledged mutations through sequence 5, but the journal is empty");
  const b = await bootAgain(h.args);
  expect(b.code).toBe(74);
  expect(b.stderr).toContain("acknowledged history is missing");
  expect(b.stderr).toContain("Restore the journal");
}, 90_000);

test("a journal overwritten past its header was taken for a torn tail and truncated, checkpoint record included, although a checkpoint file proved those records durable", async () => {
  const h = await history();
  const b0 = readFileSync(h.segment);
  const garbage = Uint8Array.from({ length: b0.length - 32 }, (_, i) => (i * 131 + 7) & 0xff);
  writeFileSync(h.segment, Buffer.concat([b0.subarray(0, 32), garbage]));
  const v = runShipped(["journal", "verify", "--state", h.state]);
  expect(v.code).toBe(65);
  expect(v.stdout).toContain("CORRUPT (acknowledged data damaged)");
  const b = await bootAgain(h.args);
  expect(b.code).toBe(74);
  expect(b.stderr).toContain("journal corrupt in segment");
  expect(b.stderr).toContain(`journal verify --repair --state ${h.state}`);
  // Nothing was cut: the operator still has every byte to examine.
  expect(readFileSync(h.segment).length).toBe(b0.length);
}, 90_000);

test("a repair that cut the journal below a checkpoint file: the boot went on from the base model and that checkpoint was deleted at the next shutdown; now verify and the boot say what is missing", async () => {
  const h = await history();
  const recs = JSON.parse(runShipped(["journal", "inspect", "--state", h.state, "--records", "--json"]).stdout).records as Array<{ seq: number; offset: number }>;
  const b0 = readFileSync(h.segment);
  b0[recs.find((r) => r.seq === 2)!.offset + 30]! ^= 0xff;
  writeFileSync(h.segment, b0);
  const repaired = runShipped(["journal", "verify", "--repair", "--state", h.state]);
  expect(repaired.stdout).toContain("cut there: sequence 2 on dropped");
  expect(repaired.stdout).toContain("CANNOT BOOT");
  expect(repaired.code).toBe(65);
  const b = await bootAgain(h.args);
  expect(b.code).toBe(74);
  expect(b.stderr).toContain("but the journal ends at sequence 1: acknowledged history is missing");
  // The checkpoints are still there for the operator.
  expect(readdirSync(join(h.state, "checkpoints")).filter((f) => f.endsWith(".gguf")).length).toBe(2);
}, 90_000);

test("journal inspect listed every checkpoint the journal ever recorded as if its file were still there; one a later checkpoint deleted is marked", async () => {
  const h = await history();
  // One more run with a mutation: its final checkpoint keeps only itself and the one before (covering 5).
  const again = start(h.args.slice(0, 3));
  await waitFor(() => again.log().includes("control socket listening"), 30_000, "the control socket");
  expect(controlMutate(join(h.state, "..", "run", "control"), ["pixel.1.bias", "4", "--values", "1.4", "--confidence", "0.9"]).json).toMatchObject({ statusName: "ACCEPTED" });
  process.kill(again.proc.pid, "SIGTERM");
  expect((await again.result(30_000)).code).toBe(0);
  const lines = runShipped(["journal", "inspect", "--state", h.state]).stdout.split("\n").filter((l) => l.includes("  checkpoint "));
  expect(lines.length).toBe(3);
  // Newest first: the run's own, the one before it (covering 5), the first (covering 3), deleted.
  expect(lines[2]).toMatch(/ckpt-0+3\.gguf covers \.\.3 \(record 4\) \(file deleted since\)$/);
  expect(lines.slice(0, 2).every((l) => !l.includes("deleted"))).toBe(true);
}, 90_000);
