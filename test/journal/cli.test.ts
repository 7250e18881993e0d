// `vector-boot journal` subcommand of the shipped executable: inspect, verify (exit codes, repair), compact.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped, tempDir } from "../harness/artifact.ts";
import { JournalError } from "../../src/errors.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

/** `vector-boot journal ARGS` run by the shipped executable (checkout hidden): exit code, stdout, stderr. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = runShipped(["journal", ...args]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function stateWith(n: number): Promise<string> {
  const state = tempDir("vb-jcli-");
  const j = Journal.open(join(state, "journal"));
  for (let i = 0; i < n; i++) await j.append(RecordType.mutation, encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i), confidence: 0.9 }));
  await j.close();
  return state;
}

describe("vector-boot journal", () => {
  test("--help documents every subcommand", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const w of ["inspect", "verify", "compact", "--repair"]) expect(r.out).toContain(w);
  });
  test("inspect lists records with their tensors as JSON", async () => {
    const state = await stateWith(3);
    const r = await run(["inspect", "--state", state, "--records", "--json"]);
    const j = JSON.parse(r.out);
    expect([j.firstSeq, j.lastSeq, j.mutations]).toEqual([1, 3, 3]);
    expect(j.records[2]).toMatchObject({ seq: 3, type: "mutation", tensor: "pixel.w", elementOffset: 2, count: 1 });
  });
  test("verify exits 65 on corruption in the middle and changes nothing; --repair cuts it", async () => {
    const state = await stateWith(5);
    const seg = join(state, "journal", segmentFileName(1));
    const b = readFileSync(seg);
    const offs = recoverJournal(join(state, "journal"), { readOnly: true }).records.map((x) => x.offset);
    b[offs[1]! + 30]! ^= 4;
    writeFileSync(seg, b);
    const bad = await run(["verify", "--state", state]);
    expect(bad.code).toBe(65);
    expect(bad.out).toContain(`CORRUPT (acknowledged data damaged) in ${segmentFileName(1)} at byte ${offs[1]}`);
    expect(readFileSync(seg).length).toBe(b.length);
    const fixed = await run(["verify", "--state", state, "--repair"]);
    expect(fixed.code).toBe(0);
    expect(recoverJournal(join(state, "journal")).records.length).toBe(1);
    expect((await run(["verify", "--state", state])).code).toBe(0);
  });
  test("verify reports a torn tail as harmless (exit 0)", async () => {
    const state = await stateWith(2);
    const seg = join(state, "journal", segmentFileName(1));
    writeFileSync(seg, readFileSync(seg).subarray(0, readFileSync(seg).length - 2));
    const r = await run(["verify", "--state", state]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("torn tail");
  });
  test("rejects an unknown subcommand as a usage error: exit 64 naming the subcommands", async () => {
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(64); // ExitCode.usage (src/errors.ts; the README documents the number)
    expect(r.err).toContain("expected one subcommand: inspect, verify or compact");
    expect(r.out).toBe("");
  });
});

describe("vector-boot journal on a path that is no state dir", () => {
  test("compact and verify --repair with a mistyped --state created the directory and a LOCK file in it before failing", async () => {
    const base = tempDir("vb-jcli-");
    const missing = join(base, "stat-typo");
    const empty = join(base, "empty");
    mkdirSync(empty);
    for (const state of [missing, empty]) {
      for (const args of [["compact"], ["verify", "--repair"]]) {
        const r = await run([...args, "--state", state]);
        expect(r.code).toBe(74); // JournalError: ExitCode.io
        expect(r.err).toContain(`no journal directory at ${join(state, "journal")}`);
      }
    }
    expect(existsSync(missing)).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
  });
  test("verify said 'OK', exit 0, for a --state that is no state dir (the journal directory itself, its parent, a regular file): 74 naming it", async () => {
    const state = await stateWith(3);
    const file = join(state, "a-file");
    writeFileSync(file, "x");
    for (const wrong of [join(state, "journal"), join(state, ".."), file]) {
      const r = await run(["verify", "--state", wrong]);
      expect(r.code).toBe(74); // JournalError: ExitCode.io
      expect(r.out).not.toContain("OK");
      expect(r.err).toContain(`no journal directory at ${join(wrong, "journal")}`);
      expect(r.err).toContain("is --state the init's state_dir?");
    }
  });
  test("verify of a corrupt journal said 'the boot would load the base model, then replay the journal' while the boot refuses it: CANNOT BOOT, with the repair", async () => {
    const state = await stateWith(3);
    const seg = join(state, "journal", segmentFileName(1));
    const b = readFileSync(seg);
    b[recoverJournal(join(state, "journal"), { readOnly: true }).records[0]!.offset + 30]! ^= 4;
    writeFileSync(seg, b);
    const r = await run(["verify", "--state", state]);
    expect(r.code).toBe(65);
    expect(r.out).not.toContain("the boot would load");
    expect(r.out).toContain(`CANNOT BOOT: acknowledged records are damaged; \`vector-boot journal verify --repair --state ${state}\``);
  });
});

describe("vector-boot journal compact", () => {
  test("keeps every segment while fewer than two verified checkpoints exist", async () => {
    const state = await stateWith(3);
    const r = await run(["compact", "--state", state]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("fewer than two verified checkpoints");
    expect(recoverJournal(join(state, "journal")).records[0]!.seq).toBe(1);
  });
});

describe("a damaged last segment with nothing after the damage", () => {
  test("an empty last segment was refused as 'acknowledged mutations follow it' (none do); the message says what it is", async () => {
    const state = await stateWith(2);
    writeFileSync(join(state, "journal", segmentFileName(3)), "");
    let err: unknown = null;
    try {
      recoverJournal(join(state, "journal"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalError);
    expect(String((err as Error).message)).toContain("nothing follows it, but a segment is created whole");
    expect(String((err as Error).message)).not.toContain("acknowledged mutations follow it");
  });
});
