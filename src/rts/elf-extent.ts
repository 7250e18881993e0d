// Where an ELF image ends in its file: the furthest of its header tables, segments and sections (bytes past it were appended).
import { readSync } from "node:fs";

const SHT_NOBITS = 8;

/**
 * The first byte after the ELF image held in `fd` (a file of `fileSize` bytes), read from its headers
 * only: the end of the furthest of the program header table, the section header table, a segment's
 * file bytes and a section's (SHT_NOBITS ones take none). Null when the file is not ELF, or when its
 * headers do not fit in the file (then nothing can be said of what follows the image).
 */
export function elfImageEnd(fd: number, fileSize: number): number | null {
  const read = (off: number, len: number): DataView | null => {
    if (off < 0 || len < 0 || off + len > fileSize) return null;
    const b = new Uint8Array(len);
    return readSync(fd, b, 0, len, off) === len ? new DataView(b.buffer) : null;
  };
  const id = read(0, 16);
  if (id === null || id.getUint32(0) !== 0x7f454c46) return null;
  const cls = id.getUint8(4);
  const data = id.getUint8(5);
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return null;
  const is64 = cls === 2;
  const le = data === 1;
  const eh = read(0, is64 ? 64 : 52);
  if (eh === null) return null;
  const word = (v: DataView, at: number): number => (is64 ? Number(v.getBigUint64(at, le)) : v.getUint32(at, le));
  const phoff = word(eh, is64 ? 32 : 28);
  const shoff = word(eh, is64 ? 40 : 32);
  const phentsize = eh.getUint16(is64 ? 54 : 42, le);
  const phnum = eh.getUint16(is64 ? 56 : 44, le);
  const shentsize = eh.getUint16(is64 ? 58 : 46, le);
  const shnum = eh.getUint16(is64 ? 60 : 48, le);
  if (shnum === 0 && shoff > 0) return null; // extended numbering (the count in section 0): not needed by any image this reads
  let end = eh.byteLength;
  if (phnum > 0) {
    if (phentsize < (is64 ? 56 : 32)) return null;
    const ph = read(phoff, phentsize * phnum);
    if (ph === null) return null;
    end = Math.max(end, phoff + phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      end = Math.max(end, is64 ? word(ph, at + 8) + word(ph, at + 32) : ph.getUint32(at + 4, le) + ph.getUint32(at + 16, le));
    }
  }
  if (shnum > 0 && shoff > 0) {
    if (shentsize < (is64 ? 64 : 40)) return null;
    const sh = read(shoff, shentsize * shnum);
    if (sh === null) return null;
    end = Math.max(end, shoff + shentsize * shnum);
    for (let i = 0; i < shnum; i++) {
      const at = i * shentsize;
      if (sh.getUint32(at + 4, le) === SHT_NOBITS) continue;
      end = Math.max(end, is64 ? word(sh, at + 24) + word(sh, at + 32) : sh.getUint32(at + 16, le) + sh.getUint32(at + 20, le));
    }
  }
  return end;
}
