// One ELF reader: src/initramfs/modinfo.ts parsed ELF section headers on its own beside src/initramfs/elf.ts; only elf.ts reads ELF now.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const src = resolve(import.meta.dir, "../../src");
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));

/** The ELF magic in any spelling (a u32, four bytes, a string) or an ELF header field read at its offset (e_shoff, e_shnum, e_shstrndx). */
const elfParsing = /0x7f454c46|0x7f\b[^;\n]{0,60}0x45\b[^;\n]{0,60}0x4c\b[^;\n]{0,60}0x46\b|\\x7fELF|\\u007fELF|\bshstrndx\b|\bshoff\b/i;

test("modinfo.ts read the ELF magic and the section header table itself (a third ELF reader): only src/initramfs/elf.ts parses ELF", () => {
  const readers = files(src)
    .map((f) => relative(src, f))
    .filter((f) => f !== "initramfs/elf.ts" && elfParsing.test(readFileSync(join(src, f), "utf8")));
  expect(readers).toEqual([]);
});
