// cpio "newc" (SVR4, magic 070701) archive writer: the format the Linux kernel unpacks as an initramfs.
import { PackageError } from "../errors.ts";

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export type CpioEntry =
  | { type: "dir"; path: string; mode: number }
  | { type: "file"; path: string; mode: number; data: Uint8Array }
  | { type: "symlink"; path: string; target: string }
  | { type: "chardev"; path: string; mode: number; major: number; minor: number };

export interface CpioOptions {
  /** mtime of every entry (seconds since the epoch); default 0 for reproducible archives. */
  mtime?: number;
}

const enc = new TextEncoder();
/** The largest file an entry holds: its size is an 8-hex-digit field. */
export const NEWC_MAX_FILE_SIZE = 0xffffffff;

function hex8(n: number, field: string, path: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new PackageError(`cpio.${field}`, `${path}: ${n} does not fit the 8-hex-digit field`);
  return n.toString(16).padStart(8, "0");
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Archive name of a path: no leading slash, no "." or ".." components, no empty components. */
export function archiveName(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.length === 0 || parts.some((p) => p === "." || p === "..")) throw new PackageError("cpio.path", `invalid archive path ${JSON.stringify(path)}`);
  return parts.join("/");
}

/**
 * Encodes entries as one newc archive ending in TRAILER!!!. Entries are sorted by name (parents first),
 * inode numbers are assigned in that order, owner is root:root, every mtime is the same: the same
 * entries always give the same bytes. Duplicate paths are refused.
 */
export function writeCpio(entries: CpioEntry[], opts: CpioOptions = {}): Uint8Array<ArrayBuffer> {
  const mtime = opts.mtime ?? 0;
  const named = entries.map((e) => ({ e, name: archiveName(e.path) }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < named.length; i++) {
    if (named[i]!.name === named[i - 1]!.name) throw new PackageError("cpio.path", `duplicate entry ${named[i]!.name}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    total += b.length;
  };
  const record = (name: string, ino: number, mode: number, nlink: number, data: Uint8Array, rdevMajor = 0, rdevMinor = 0): void => {
    const nameBytes = enc.encode(`${name}\0`);
    const fields = [ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0];
    const names = ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check"];
    push(enc.encode(`070701${fields.map((f, i) => hex8(f, names[i]!, name)).join("")}`));
    push(nameBytes);
    push(new Uint8Array(pad4(110 + nameBytes.length)));
    if (data.length > 0) {
      push(data);
      push(new Uint8Array(pad4(data.length)));
    }
  };
  named.forEach(({ e, name }, i) => {
    const ino = i + 1;
    switch (e.type) {
      case "dir":
        record(name, ino, S_IFDIR | (e.mode & 0o7777), 2, new Uint8Array(0));
        break;
      case "file":
        record(name, ino, S_IFREG | (e.mode & 0o7777), 1, e.data);
        break;
      case "symlink":
        record(name, ino, S_IFLNK | 0o777, 1, enc.encode(e.target));
        break;
      case "chardev":
        record(name, ino, S_IFCHR | (e.mode & 0o7777), 1, new Uint8Array(0), e.major, e.minor);
        break;
    }
  });
  record("TRAILER!!!", 0, 0, 1, new Uint8Array(0));
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
