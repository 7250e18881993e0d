// A directory the state dir's durability rests on (the state dir itself, journal/, checkpoints/, lineages/<sha>/) is fsynced into its parent when created.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureTool } from "../../scripts/qemu-support.ts";
import { removeDir, root, tempDir } from "../evolution/harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Run under strace: a first boot (journal, an acknowledged mutation, a checkpoint), then a boot on another base (the history archived). */
const scenario = `
import { openEvolution } from ${JSON.stringify(join(root, "src/evolution/evolution.ts"))};
import { loadStandIn } from ${JSON.stringify(join(root, "test/evolution/consumer.ts"))};
const [stateDir, runDir] = process.argv.slice(2);
const open = (sha) => openEvolution({ stateDir, runDir, baseSha256: sha.repeat(64), loadWeights: loadStandIn });
let evo = await open("a");
const r = await evo.submit({ tensor: "pixel.bias", elementOffset: 0, values: Float32Array.of(0.5), confidence: 0.9 });
if (r.statusName !== "ACCEPTED") throw new Error(JSON.stringify(r));
await evo.checkpoint();
await evo.close();
evo = await open("b");
await evo.close();
console.log("done");
`;

interface Call {
  op: "mkdir" | "sync";
  path: string;
}

/** mkdir calls that succeeded and fsync/fdatasync calls (with the path strace -y shows for the fd), in order. */
function calls(trace: string): Call[] {
  const out: Call[] = [];
  for (const line of trace.split("\n")) {
    const mk = /\bmkdir\("([^"]+)", \d+\) = 0/.exec(line);
    if (mk) out.push({ op: "mkdir", path: mk[1]! });
    const sy = /\bf(?:data)?sync\(\d+<([^>]+)>/.exec(line);
    if (sy) out.push({ op: "sync", path: sy[1]! });
  }
  return out;
}

/**
 * Each directory made under `state` whose parent was not fsynced after the mkdir and before the
 * first fsync/fdatasync of anything inside it (what is made durable there hangs on its entry).
 */
function undurableDirs(cs: Call[], state: string): string[] {
  const bad: string[] = [];
  cs.forEach((c, i) => {
    if (c.op !== "mkdir" || !(c.path === state || c.path.startsWith(`${state}/`))) return;
    const parent = dirname(c.path);
    for (const d of cs.slice(i + 1)) {
      if (d.op !== "sync") continue;
      if (d.path === parent) return;
      if (d.path === c.path || d.path.startsWith(`${c.path}/`)) {
        bad.push(`${c.path} (first sync inside it: ${d.path}, ${parent} not fsynced before)`);
        return;
      }
    }
    bad.push(`${c.path} (${parent} never fsynced after it)`);
  });
  return bad;
}

/** The scenario under strace, `state` its state dir (made by the test or not); the mkdir and sync calls it made. */
async function traced(d: string, state: string): Promise<Call[]> {
  const script = join(d, "scenario.ts");
  writeFileSync(script, scenario);
  const trace = join(d, "trace");
  const p = Bun.spawn([ensureTool((line) => console.error(line), "strace", "strace"), "-f", "-qq", "-y", "-o", trace, "-e", "trace=mkdir,fsync,fdatasync", process.execPath, script, state, join(d, "run")], { stdout: "pipe", stderr: "pipe" });
  const code = await p.exited;
  expect({ code, out: (await new Response(p.stdout).text()).trim(), err: code === 0 ? "" : await new Response(p.stderr).text() }).toEqual({ code: 0, out: "done", err: "" });
  return calls(readFileSync(trace, "utf8"));
}

test("journal/, checkpoints/ and lineages/<sha>/ were created without an fsync of their parent: a power cut could drop the directory entry, and every acknowledged record or archived history in it", async () => {
  const d = tempDir("vb-dirsync-");
  dirs.push(d);
  const state = join(d, "state");
  mkdirSync(state, { mode: 0o700 }); // the operator's state dir exists; what the init makes inside it is checked
  const cs = await traced(d, state);
  // The scenario made every one of them (else the check below proves nothing).
  const made = cs.filter((c) => c.op === "mkdir").map((c) => c.path);
  for (const sub of ["journal", "checkpoints", "lineages", `lineages/${"a".repeat(64)}`]) expect(made).toContain(join(state, sub));
  expect(undurableDirs(cs, state)).toEqual([]);
}, 60_000);

test("state-dir-created-without-parent-fsync: the state dir the first boot creates (state_dir on a fresh disk) was made by a plain mkdir -p: a power cut could drop its entry, and with it the journal of every acknowledged mutation", async () => {
  const d = tempDir("vb-dirsync-");
  dirs.push(d);
  // Two levels that do not exist yet: the init makes both (mkdir -p), each must be fsynced into its parent.
  const top = join(d, "disk");
  const state = join(top, "vector-boot");
  const cs = await traced(d, state);
  const made = cs.filter((c) => c.op === "mkdir").map((c) => c.path);
  for (const dir of [top, state]) expect(made).toContain(dir);
  expect(undurableDirs(cs, top)).toEqual([]);
}, 60_000);

test("a journal whose last segment's rename (or journal/'s own entry) an interrupted run left unsynced: the next run acknowledged records in that segment without ever fsyncing journal/ or the state dir, and a power cut could drop the segment with them", async () => {
  const d = tempDir("vb-dirsync-");
  dirs.push(d);
  const state = join(d, "state");
  const script = join(d, "reopen.ts");
  // The second open's ack is marked by a mkdir strace sees: what was fsynced before it is what the ack rests on.
  writeFileSync(
    script,
    `
import { mkdirSync } from "node:fs";
import { openEvolution } from ${JSON.stringify(join(root, "src/evolution/evolution.ts"))};
import { loadStandIn } from ${JSON.stringify(join(root, "test/evolution/consumer.ts"))};
const [stateDir, runDir, marker] = process.argv.slice(2);
const evo = await openEvolution({ stateDir, runDir, loadWeights: loadStandIn });
const r = await evo.submit({ tensor: "pixel.bias", elementOffset: 1, values: Float32Array.of(0.25), confidence: 0.9 });
if (r.statusName !== "ACCEPTED") throw new Error(JSON.stringify(r));
mkdirSync(marker);
await evo.close();
console.log("done");
`,
  );
  // The first run: a journal with its segment in place (this run's directory syncs are not looked at).
  mkdirSync(state, { mode: 0o700 });
  expect((await traced(d, state)).some((c) => c.op === "sync" && c.path.startsWith(join(state, "journal/")))).toBe(true);
  const trace = join(d, "trace2");
  const marker = join(d, "acked");
  const p = Bun.spawn([ensureTool((line) => console.error(line), "strace", "strace"), "-f", "-qq", "-y", "-o", trace, "-e", "trace=mkdir,fsync,fdatasync", process.execPath, script, state, join(d, "run2"), marker], { stdout: "pipe", stderr: "pipe" });
  const code = await p.exited;
  expect({ code, out: (await new Response(p.stdout).text()).trim(), err: code === 0 ? "" : await new Response(p.stderr).text() }).toEqual({ code: 0, out: "done", err: "" });
  const cs = calls(readFileSync(trace, "utf8"));
  const ack = cs.findIndex((c) => c.op === "mkdir" && c.path === marker);
  expect(ack).toBeGreaterThan(0);
  const before = new Set(cs.slice(0, ack).filter((c) => c.op === "sync").map((c) => c.path));
  expect({ journal: before.has(join(state, "journal")), state: before.has(state) }).toEqual({ journal: true, state: true });
}, 60_000);
