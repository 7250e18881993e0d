// Appending to a file in a directory only this user controls, through descriptors: no symlink or hard link planted there is ever followed.
import { closeSync, constants, fstatSync, lstatSync, openSync, renameSync, writeSync } from "node:fs";
import { privateDirProblem } from "./private-dir.ts";

const O_CLOEXEC = 0o2000000;

/** Thrown when the directory or the file is not one only this user could have put there. */
export class UnsafeFileError extends Error {}

/**
 * An open directory checked by `fstat` (whatever its path named when it was opened), whose files are
 * reached as `/proc/self/fd/N/NAME`: the kernel resolves that to this very directory, so renaming
 * another directory into its place changes nothing.
 */
export class PrivateDir {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | O_CLOEXEC);
    const problem = privateDirProblem(path, fstatSync(this.fd));
    if (problem) {
      closeSync(this.fd);
      throw new UnsafeFileError(problem);
    }
  }

  private at(name: string): string {
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** Size of NAME (0 when missing), without following a symlink. */
  size(name: string): number {
    try {
      return lstatSync(this.at(name), { throwIfNoEntry: false })?.size ?? 0;
    } catch {
      return 0;
    }
  }

  /** Renames NAME to TO inside the directory (a symlink is moved, never followed). */
  rename(name: string, to: string): void {
    renameSync(this.at(name), this.at(to));
  }

  /** Appends `text` to NAME (created with `mode`); refused when NAME is a symlink, not a regular file, another user's, or has another link. */
  append(name: string, text: string, mode: number): void {
    const fd = openSync(this.at(name), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | O_CLOEXEC, mode);
    try {
      const st = fstatSync(fd);
      const me = process.geteuid?.() ?? 0;
      if (!st.isFile() || st.uid !== me || st.nlink !== 1) throw new UnsafeFileError(`${this.path}/${name} is not a regular file of uid ${me} with one link (uid ${st.uid}, ${st.nlink} links)`);
      const bytes = Buffer.from(text, "utf8");
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
