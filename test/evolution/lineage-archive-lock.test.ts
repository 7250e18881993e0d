// An archived lineage the offline tools wrote in (their LOCK file left in it): resumed when its base boots again.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readGguf } from "../../src/gguf/reader.ts";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootOnce, genModel, sha256Of } from "./lineage-boot.ts";
import { newestCheckpoint } from "./shipped-cli.ts";

afterEach(killLeftovers);

const bias0 = (gguf: string) => new Float32Array(new Uint8Array(readGguf(new Uint8Array(readFileSync(gguf))).tensorByName("pixel.1.bias")!.data).buffer)[0];

/** Holds `lock` (flock -o: flock itself holds it, not the sleep) until the returned function is called. */
async function holdLock(lock: string): Promise<() => Promise<void>> {
  const holder = Bun.spawn(["flock", "-x", "-o", lock, "sh", "-c", "echo held; exec sleep 60"], { stdout: "pipe", stderr: "pipe" });
  const first = await Promise.race([holder.stdout.getReader().read(), Bun.sleep(20_000).then(() => null)]);
  expect(new TextDecoder().decode(first?.value)).toContain("held");
  return async () => {
    holder.kill(9);
    await holder.exited;
  };
}

test("`journal compact` run on an archived lineage (lineages/<sha>) left its LOCK file there: every later boot of that base failed to resume it (rmdir ENOTEMPTY, 74; as PID 1 evolution off) with its history split; now it resumes, and a tool still holding that lock is refused by name, nothing moved", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const a = genModel(join(dir, "a.gguf"), "1");
  const b = genModel(join(dir, "b.gguf"), "2");
  expect((await bootOnce(a, dir, state, 4.5)).code).toBe(0);
  expect((await bootOnce(b, dir, state, 2.5)).code).toBe(0);
  const archiveA = join(state, "lineages", sha256Of(a));
  // The documented way to work on an archived lineage: pass its directory as the state dir.
  expect(runShipped(["journal", "compact", "--state", archiveA]).code).toBe(0);
  expect(readdirSync(archiveA)).toContain("LOCK");
  const back = await bootOnce(a, dir, state);
  expect(back.stderr).not.toContain("ENOTEMPTY");
  expect(back.code).toBe(0);
  expect(back.stderr).toMatch(/base model changed: the previous lineage is archived.*resumed=true/);
  expect(existsSync(archiveA)).toBe(false);
  expect(bias0(newestCheckpoint(state))).toBe(4.5);
  expect(JSON.parse(runShipped(["journal", "inspect", "--json", "--state", state]).stdout).lineage).toEqual({ base: sha256Of(a), archived: [sha256Of(b)] });

  // A tool still at work on B's archive (holding its lock): B's boot moves nothing and names it.
  const archiveB = join(state, "lineages", sha256Of(b));
  expect(runShipped(["journal", "verify", "--repair", "--state", archiveB]).code).toBe(0);
  const release = await holdLock(join(archiveB, "LOCK"));
  try {
    const busy = await bootOnce(b, dir, state);
    expect(busy.code).toBe(74);
    expect(busy.stderr).toContain(`state directory ${archiveB} is in use by another process`);
    expect(readdirSync(archiveB).sort()).toEqual(["LINEAGE", "LOCK", "checkpoints", "journal"]);
    expect(readFileSync(join(state, "LINEAGE"), "utf8").trim()).toBe(sha256Of(a)); // A's history not moved either
  } finally {
    await release();
  }
  const bBack = await bootOnce(b, dir, state);
  expect(bBack.code).toBe(0);
  expect(existsSync(archiveB)).toBe(false);
  expect(bias0(newestCheckpoint(state))).toBe(2.5);
}, 150_000);
