// State dirs for the segment-lineage tests: two lineages, a journal of N mutation records in several segments, and what its segments hold.
import { afterAll } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A new directory, removed after the file's tests. */
export const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), "vb-jlin-"));
  dirs.push(d);
  return d;
};

export const A = "a".repeat(64);
export const B = "b".repeat(64);
/** A mutation record's payload (the CLI decodes every body), all of one size. */
export const payload = (i: number) => encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i, i + 1), confidence: 0.9 });

/** A state dir whose journal (opened for `lineage`) holds `n` records, in 2 segments or more, and whose LINEAGE names it. */
export async function stateOf(lineage: string, n = 12): Promise<string> {
  const state = fresh();
  const j = Journal.open(join(state, "journal"), { lineage, segmentBytes: 300 });
  for (let i = 0; i < n; i++) await j.append(RecordType.mutation, payload(i));
  await j.close();
  writeFileSync(join(state, "LINEAGE"), `${lineage}\n`);
  return state;
}

export const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(".vbj")).sort();
/** Every segment's bytes, by name (hex). */
export const snapshot = (dir: string): Record<string, string> => Object.fromEntries(segments(dir).map((n) => [n, readFileSync(join(dir, n)).toString("hex")]));
