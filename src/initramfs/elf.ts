// The one ELF reader: class, machine, PT_INTERP, the dynamic section's NEEDED/RPATH/RUNPATH/SONAME, named sections, where the image ends.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { PackageError } from "../errors.ts";

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_NOBITS = 8;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

export interface ElfInfo {
  path: string;
  /** 32 or 64. */
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_machine (62 = x86-64, 183 = AArch64). */
  machine: number;
  /** e_type (2 = EXEC, 3 = DYN). */
  type: number;
  /** PT_INTERP: the program interpreter (dynamic loader) path, or null for static / shared objects. */
  interp: string | null;
  needed: string[];
  rpath: string[];
  runpath: string[];
  soname: string | null;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** A section header with its name (read from the section-name string table) and its file bytes on demand. */
export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
  /** The section's bytes (range-checked against the file; SHT_NOBITS has none in the file). */
  bytes(): Uint8Array;
}

/** Where ELF bytes come from: an open file read as needed, or bytes already in memory (a decompressed .ko). */
interface ByteSource {
  size: number;
  read(off: number, len: number): Uint8Array | null;
}

const ELF_MAGIC = 0x7f454c46; // "\x7fELF", big-endian

/** Whether `head` (a file's first bytes) starts with the ELF magic. */
export const isElfMagic = (head: Uint8Array): boolean => head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0) === ELF_MAGIC;

const fdSource = (fd: number, size: number): ByteSource => ({
  size,
  read: (off, len) => {
    const b = new Uint8Array(len);
    return readSync(fd, b, 0, len, off) === len ? b : null;
  },
});
const memorySource = (bytes: Uint8Array): ByteSource => ({ size: bytes.length, read: (off, len) => bytes.subarray(off, off + len) });

/** An ELF file's header fields: class, byte order, type, machine and where its two header tables lie. */
interface ElfHeader {
  bits: 32 | 64;
  le: boolean;
  type: number;
  machine: number;
  headerSize: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
  /** `len` bytes at `off` (`rangeOnly`: only checked to lie inside the file; an empty view). */
  read: (off: number, len: number, field: string, rangeOnly?: boolean) => DataView;
  word: (v: DataView, at: number) => number;
}

/** The header and the program headers; the section header table is read by `sections()`. */
interface ElfHeaders extends ElfHeader {
  segments: Segment[];
  /** End of the ELF header and of the program header table. */
  headersEnd: number;
}

/** The ELF header of `src`; null when it is not ELF. Nothing past the header is read. */
function readElfHeader(src: ByteSource, path: string): ElfHeader | null {
  const read = (off: number, len: number, field: string, rangeOnly = false): DataView => {
    if (off < 0 || len < 0 || off + len > src.size) throw new PackageError(`elf.${field}`, `${path}: range [${off}, ${off + len}) outside the file (${src.size} bytes)`);
    if (rangeOnly) return new DataView(new ArrayBuffer(0));
    const b = src.read(off, len);
    if (b === null) throw new PackageError(`elf.${field}`, `${path}: short read`);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };
  if (src.size < 16) return null;
  const id = read(0, 16, "ident");
  if (id.getUint32(0) !== ELF_MAGIC) return null;
  const cls = id.getUint8(4);
  const data = id.getUint8(5);
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) throw new PackageError("elf.ident", `${path}: unknown class ${cls} / data encoding ${data}`);
  const bits = cls === 2 ? 64 : 32;
  const le = data === 1;
  const headerSize = bits === 64 ? 64 : 52;
  const eh = read(0, headerSize, "header");
  const word = (v: DataView, at: number): number => (bits === 64 ? Number(v.getBigUint64(at, le)) : v.getUint32(at, le));
  return {
    bits, le, type: eh.getUint16(16, le), machine: eh.getUint16(18, le), headerSize,
    phoff: word(eh, bits === 64 ? 32 : 28), phentsize: eh.getUint16(bits === 64 ? 54 : 42, le), phnum: eh.getUint16(bits === 64 ? 56 : 44, le),
    shoff: word(eh, bits === 64 ? 40 : 32), shentsize: eh.getUint16(bits === 64 ? 58 : 46, le), shnum: eh.getUint16(bits === 64 ? 60 : 48, le),
    shstrndx: eh.getUint16(bits === 64 ? 62 : 50, le),
    read, word,
  };
}

/** A header table read whole up to this size; a larger one entry by entry. */
const TABLE_AT_ONCE = 1 << 20;

/**
 * The first `need` bytes of each of the `count` entries of `entsize` bytes at `off` (a header
 * table). A crafted header (65535 entries of 65535 bytes, in a sparse file) had the whole 4 GB
 * table read into memory by `inspect` or `verify` of any file with the ELF magic.
 */
function tableEntries(read: ElfHeader["read"], off: number, entsize: number, count: number, need: number, field: string): DataView[] {
  if (count === 0) return [];
  if (entsize * count <= TABLE_AT_ONCE) {
    const t = read(off, entsize * count, field);
    return Array.from({ length: count }, (_, i) => new DataView(t.buffer, t.byteOffset + i * entsize, need));
  }
  read(off, entsize * count, field, true);
  return Array.from({ length: count }, (_, i) => read(off + i * entsize, need, field));
}

/**
 * Reads the ELF header and program headers of `src` (named `path` in errors): null when it is not
 * ELF; PackageError `elf.*` when its headers do not hold together or lie outside the file.
 */
function readElfHeaders(src: ByteSource, path: string): ElfHeaders | null {
  const h = readElfHeader(src, path);
  if (h === null) return null;
  const { bits, le, phoff, phentsize, phnum, read, word } = h;
  if (phnum > 0 && phentsize < (bits === 64 ? 56 : 32)) throw new PackageError("elf.phentsize", `${path}: program header entry size ${phentsize} too small`);
  const segments = tableEntries(read, phoff, phentsize, phnum, bits === 64 ? 56 : 32, "phdrs").map(
    (ph): Segment =>
      bits === 64
        ? { type: ph.getUint32(0, le), offset: word(ph, 8), vaddr: word(ph, 16), filesz: word(ph, 32) }
        : { type: ph.getUint32(0, le), offset: ph.getUint32(4, le), vaddr: ph.getUint32(8, le), filesz: ph.getUint32(16, le) },
  );
  return { ...h, segments, headersEnd: Math.max(h.headerSize, phnum > 0 ? phoff + phentsize * phnum : 0) };
}

/** The section header table of `h` (none: []), names resolved through e_shstrndx; PackageError when it does not fit the file. */
function sections(h: ElfHeaders, path: string): ElfSection[] {
  if (h.shnum === 0 && h.shoff > 0) throw new PackageError("elf.shnum", `${path}: extended section numbering (the count in section 0) is not read`);
  if (h.shnum === 0 || h.shoff === 0) return [];
  if (h.shentsize < (h.bits === 64 ? 64 : 40)) throw new PackageError("elf.shentsize", `${path}: section header entry size ${h.shentsize} too small`);
  const raw = tableEntries(h.read, h.shoff, h.shentsize, h.shnum, h.bits === 64 ? 64 : 40, "shdrs").map((sh) => {
    const w = (at64: number, at32: number) => (h.bits === 64 ? h.word(sh, at64) : sh.getUint32(at32, h.le));
    return { nameAt: sh.getUint32(0, h.le), type: sh.getUint32(4, h.le), offset: w(24, 16), size: w(32, 20) };
  });
  const contents = (s: { type: number; offset: number; size: number }, field: string): Uint8Array => {
    if (s.type === SHT_NOBITS) return new Uint8Array(0);
    const v = h.read(s.offset, s.size, field);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  };
  const strtab = h.shstrndx < h.shnum ? raw[h.shstrndx]! : null;
  let names: Uint8Array | null = null;
  // Names are read on first use: where the image ends needs none.
  const nameOf = (at: number): string => {
    if (strtab === null) return "";
    names ??= contents(strtab, "shstrtab");
    let end = at;
    while (end < names.length && names[end] !== 0) end++;
    return new TextDecoder().decode(names.subarray(Math.min(at, end), end));
  };
  return raw.map((s, i) => ({
    get name() {
      return nameOf(s.nameAt);
    },
    type: s.type,
    offset: s.offset,
    size: s.size,
    bytes: () => contents(s, `section${i}`),
  }));
}

/** The sections of an ELF file held in memory (e.g. a decompressed kernel module); null when it is not ELF. */
export function readElfSections(bytes: Uint8Array, path: string): ElfSection[] | null {
  const h = readElfHeaders(memorySource(bytes), path);
  return h === null ? null : sections(h, path);
}

/**
 * The first byte after the ELF image in `fd` (a file of `fileSize` bytes; bytes past it were
 * appended, as the embedded model is): the furthest of its header tables, its segments' file bytes
 * and its sections' (SHT_NOBITS ones take none). More than `fileSize` when the file is cut short:
 * its header, a header table, a segment or a section reaches past its end. Null when the file is not
 * ELF or its headers do not hold together (then nothing can be said of what follows the image).
 */
export function elfImageEnd(fd: number, fileSize: number): number | null {
  const src = fdSource(fd, fileSize);
  const ident = src.read(0, Math.min(fileSize, 5));
  if (ident === null || !isElfMagic(ident)) return null;
  // Cut inside the ELF header itself: it alone takes 64 bytes (32-bit ELF: 52).
  const headerSize = ident[4] === 2 ? 64 : 52;
  if (fileSize < headerSize) return headerSize;
  try {
    const e = readElfHeader(src, "the executable")!;
    // A header table that ends past the file (a copy cut short) is not read: its end is what the image needs.
    const tablesEnd = Math.max(e.phnum > 0 ? e.phoff + e.phentsize * e.phnum : 0, e.shnum > 0 && e.shoff > 0 ? e.shoff + e.shentsize * e.shnum : 0);
    if (tablesEnd > fileSize) return tablesEnd;
    const h = readElfHeaders(src, "the executable")!;
    let end = h.headersEnd;
    for (const seg of h.segments) end = Math.max(end, seg.offset + seg.filesz);
    if (h.shnum > 0 && h.shoff > 0) end = Math.max(end, h.shoff + h.shentsize * h.shnum);
    for (const s of sections(h, "the executable")) if (s.type !== SHT_NOBITS) end = Math.max(end, s.offset + s.size);
    return end;
  } catch (e) {
    if (e instanceof PackageError) return null;
    throw e;
  }
}

/** Reads the ELF headers of `path` (never the whole file). Returns null when the file is not ELF. */
export function readElf(path: string): ElfInfo | null {
  const fd = openSync(path, "r");
  try {
    const h = readElfHeaders(fdSource(fd, fstatSync(fd).size), path);
    if (h === null) return null;
    const { bits, le, type, machine, segments: segs, read, word } = h;
    const cstring = (v: DataView, at: number): string => {
      let end = at;
      while (end < v.byteLength && v.getUint8(end) !== 0) end++;
      return new TextDecoder().decode(new Uint8Array(v.buffer, v.byteOffset + at, end - at));
    };
    const interpSeg = segs.find((s) => s.type === PT_INTERP);
    const interp = interpSeg ? cstring(read(interpSeg.offset, interpSeg.filesz, "interp"), 0) : null;
    const info: ElfInfo = { path, bits, littleEndian: le, machine, type, interp, needed: [], rpath: [], runpath: [], soname: null };
    const dynSeg = segs.find((s) => s.type === PT_DYNAMIC);
    if (!dynSeg) return info;
    const dyn = read(dynSeg.offset, dynSeg.filesz, "dynamic");
    const entSize = bits === 64 ? 16 : 8;
    const entries: [bigint, number][] = [];
    for (let at = 0; at + entSize <= dyn.byteLength; at += entSize) {
      const tag = bits === 64 ? dyn.getBigInt64(at, le) : BigInt(dyn.getInt32(at, le));
      if (tag === DT_NULL) break;
      entries.push([tag, word(dyn, at + entSize / 2)]);
    }
    const strtabAddr = entries.find(([t]) => t === DT_STRTAB)?.[1];
    const strsz = entries.find(([t]) => t === DT_STRSZ)?.[1];
    if (strtabAddr === undefined || strsz === undefined) return info;
    const load = segs.find((s) => s.type === PT_LOAD && strtabAddr >= s.vaddr && strtabAddr < s.vaddr + s.filesz);
    if (!load) throw new PackageError("elf.strtab", `${path}: DT_STRTAB 0x${strtabAddr.toString(16)} is in no loadable segment`);
    const strtab = read(strtabAddr - load.vaddr + load.offset, Math.min(strsz, load.vaddr + load.filesz - strtabAddr), "strtab");
    const str = (off: number): string => {
      if (off >= strtab.byteLength) throw new PackageError("elf.strtab", `${path}: string offset ${off} past the string table`);
      return cstring(strtab, off);
    };
    for (const [tag, val] of entries) {
      if (tag === DT_NEEDED) info.needed.push(str(val));
      else if (tag === DT_RPATH) info.rpath.push(...str(val).split(":").filter(Boolean));
      else if (tag === DT_RUNPATH) info.runpath.push(...str(val).split(":").filter(Boolean));
      else if (tag === DT_SONAME) info.soname = str(val);
    }
    return info;
  } finally {
    closeSync(fd);
  }
}
