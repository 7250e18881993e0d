// House style that a review kept finding by hand: the one-line module comment, kebab-case names, no stray blank lines, files of about 300 lines.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");

function filesUnder(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

const typescript = ["src", "test", "bench", "scripts"].flatMap((d) => filesUnder(d, ".ts"));
const sources = [...typescript, ...filesUnder("native", ".c"), ...filesUnder("native", ".h")];
const rel = (p: string) => relative(root, p);

test("a TypeScript file without its one-line module comment on the first line", () => {
  expect(typescript.length).toBeGreaterThan(300);
  const missing = typescript.filter((p) => !/^(#!.*\n)?\/\/ \S/.test(readFileSync(p, "utf8"))).map(rel);
  expect(missing).toEqual([]);
});

test("a file name that is not kebab-case", () => {
  const bad = sources.filter((p) => !/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*$/.test(basename(p))).map(rel);
  expect(bad).toEqual([]);
});

test("blank lines left by removed code: two in a row, or at the end of a file", () => {
  const bad = sources.filter((p) => /\n\n\n|\n\n$/.test(readFileSync(p, "utf8"))).map(rel);
  expect(bad).toEqual([]);
});

test("a source module grows far past one concept's size (about 300 lines; 340 is the hard stop)", () => {
  const big = filesUnder("src", ".ts")
    .map((p) => ({ file: rel(p), lines: readFileSync(p, "utf8").split("\n").length - 1 }))
    .filter((f) => f.lines > 340);
  expect(big).toEqual([]);
});
