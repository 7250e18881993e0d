// A restarted init (its predecessor killed between a batch's write and its fdatasync) renamed a checkpoint covering that batch into place before the journal segment holding it was synced: a power cut then left a checkpoint ahead of the journal.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool } from "../../scripts/qemu-support.ts";
import { removeDir, root, tempDir } from "../evolution/harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const open = `
import { openEvolution } from ${JSON.stringify(join(root, "src/evolution/evolution.ts"))};
import { loadStandIn } from ${JSON.stringify(join(root, "test/evolution/consumer.ts"))};
const [stateDir, runDir, step] = process.argv.slice(2);
const evo = await openEvolution({ stateDir, runDir, baseSha256: "a".repeat(64), loadWeights: loadStandIn });
`;
/** The first init: a mutation acknowledged (journaled), no checkpoint. */
const first = `${open}
const r = await evo.submit({ tensor: "pixel.bias", elementOffset: 0, values: Float32Array.of(0.5), confidence: 0.9 });
if (r.statusName !== "ACCEPTED") throw new Error(JSON.stringify(r));
await evo.close();
console.log("done");
`;
/** The next init (under strace): replays the journal, then checkpoints what it replayed. */
const next = `${open}
await evo.checkpoint();
await evo.close();
console.log("done");
`;

async function run(d: string, name: string, body: string, state: string, traceTo?: string): Promise<void> {
  const script = join(d, `${name}.ts`);
  writeFileSync(script, body);
  const argv = [process.execPath, script, state, join(d, "run")];
  const strace = traceTo ? [ensureTool((line) => console.error(line), "strace", "strace"), "-f", "-qq", "-y", "-o", traceTo, "-e", "trace=fdatasync,fsync,rename,renameat,renameat2"] : [];
  const p = Bun.spawn([...strace, ...argv], { stdout: "pipe", stderr: "pipe" });
  const code = await p.exited;
  expect({ code, out: (await new Response(p.stdout).text()).trim(), err: code === 0 ? "" : await new Response(p.stderr).text() }).toEqual({ code: 0, out: "done", err: "" });
}

test("a restarted init renamed its first checkpoint into place before any fdatasync of the journal segment it covers (records written by a predecessor killed before its fdatasync count as durable at recovery); the segment is synced when the journal opens", async () => {
  const d = tempDir("vb-ckpt-order-");
  dirs.push(d);
  const state = join(d, "state");
  await run(d, "first", first, state);
  const trace = join(d, "trace");
  await run(d, "next", next, state, trace);
  const lines = readFileSync(trace, "utf8").split("\n");
  const segSync = lines.findIndex((l) => /\bf(?:data)?sync\(\d+<[^>]*\/journal\/[^>]+>/.test(l));
  const ckptRename = lines.findIndex((l) => /\brename(?:at2?)?\(.*checkpoints\/[^"]*\.gguf"/.test(l) && /= 0$/.test(l));
  expect(ckptRename).toBeGreaterThanOrEqual(0); // the checkpoint was written (else this proves nothing)
  expect(segSync).toBeGreaterThanOrEqual(0);
  expect(segSync).toBeLessThan(ckptRename);
}, 60_000);
