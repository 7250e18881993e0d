// Independent cpio newc reader for the tests (does not share code with src/initramfs/cpio.ts): strict structure checks.

export interface CpioRecord {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  check: number;
  data: Uint8Array;
  /** Byte offset of the header in the archive. */
  at: number;
}

/** Parses every record up to and including TRAILER!!!; throws on any structural error (magic, padding, sizes, NUL). */
export function readCpio(buf: Uint8Array): CpioRecord[] {
  const dec = new TextDecoder();
  const out: CpioRecord[] = [];
  let at = 0;
  for (;;) {
    if (at % 4 !== 0) throw new Error(`record at ${at} not 4-byte aligned`);
    if (at + 110 > buf.length) throw new Error(`truncated header at ${at}`);
    const hdr = dec.decode(buf.subarray(at, at + 110));
    if (hdr.slice(0, 6) !== "070701") throw new Error(`bad magic ${JSON.stringify(hdr.slice(0, 6))} at ${at}`);
    const f = (i: number): number => {
      const s = hdr.slice(6 + i * 8, 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new Error(`bad hex field ${i} at ${at}: ${s}`);
      return parseInt(s, 16);
    };
    const namesize = f(11);
    const filesize = f(6);
    const nameEnd = at + 110 + namesize;
    if (buf[nameEnd - 1] !== 0) throw new Error(`name at ${at} not NUL-terminated`);
    const name = dec.decode(buf.subarray(at + 110, nameEnd - 1));
    const dataAt = nameEnd + ((4 - (nameEnd % 4)) % 4);
    for (let i = nameEnd; i < dataAt; i++) if (buf[i] !== 0) throw new Error(`non-zero name padding after ${name}`);
    if (dataAt + filesize > buf.length) throw new Error(`data of ${name} past the end`);
    const rec: CpioRecord = {
      name, ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5), rdevMajor: f(9), rdevMinor: f(10), check: f(12),
      data: buf.subarray(dataAt, dataAt + filesize), at,
    };
    out.push(rec);
    const end = dataAt + filesize;
    at = end + ((4 - (end % 4)) % 4);
    for (let i = end; i < at; i++) if (buf[i] !== 0) throw new Error(`non-zero data padding after ${name}`);
    if (name === "TRAILER!!!") return out;
  }
}

export const fileType = (mode: number): "dir" | "file" | "symlink" | "chardev" | "other" =>
  ({ 0o040000: "dir", 0o100000: "file", 0o120000: "symlink", 0o020000: "chardev" } as const)[mode & 0o170000 as 0o040000] ?? "other";

/** Resolves a path inside the archive through its symlinks, like the kernel would after unpacking. */
export function resolveIn(records: Map<string, CpioRecord>, path: string, depth = 0): CpioRecord | null {
  if (depth > 20) return null;
  const parts = path.split("/").filter(Boolean);
  let cur = "";
  for (let i = 0; i < parts.length; i++) {
    cur = cur ? `${cur}/${parts[i]}` : parts[i]!;
    const r = records.get(cur);
    if (!r) return null;
    if (fileType(r.mode) === "symlink") {
      const target = new TextDecoder().decode(r.data);
      const base = target.startsWith("/") ? target : `${cur.split("/").slice(0, -1).join("/")}/${target}`;
      return resolveIn(records, [base, ...parts.slice(i + 1)].join("/"), depth + 1);
    }
  }
  return records.get(cur) ?? null;
}
