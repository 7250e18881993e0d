// An in-memory initramfs tree: adds files, directories, device nodes and host paths (mirroring host symlinks) for cpio.
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, posix } from "node:path";
import { PackageError } from "../errors.ts";
import { archiveName, type CpioEntry } from "./cpio.ts";

/** Normalized mode of a host file: 0755 when any execute bit is set, else 0644 (owner is always root). */
export const normalizedMode = (hostMode: number): number => ((hostMode & 0o111) !== 0 ? 0o755 : 0o644);

export class InitramfsTree {
  private readonly entries = new Map<string, CpioEntry>();

  /** Resolves `path` through symlinks already in the tree (like the kernel would after unpacking). */
  resolve(path: string, depth = 0): string {
    if (depth > 40) throw new PackageError("initramfs.path", `too many symlinks resolving ${path}`);
    const parts = archiveName(path).split("/");
    let cur = "";
    for (let i = 0; i < parts.length; i++) {
      const next = cur ? `${cur}/${parts[i]}` : parts[i]!;
      const e = this.entries.get(next);
      if (e?.type === "symlink" && i < parts.length - 1) {
        const target = e.target.startsWith("/") ? e.target : posix.join(posix.dirname(`/${next}`), e.target);
        return this.resolve(`${target}/${parts.slice(i + 1).join("/")}`, depth + 1);
      }
      cur = next;
    }
    return cur;
  }

  private put(entry: CpioEntry, overrideDirMode = false): void {
    const name = archiveName(entry.path);
    const old = this.entries.get(name);
    if (old) {
      if (old.type === "dir" && entry.type === "dir") {
        if (overrideDirMode) old.mode = entry.mode;
        return;
      }
      if (old.type === "symlink" && entry.type === "symlink" && old.target === entry.target) return;
      if (old.type === "file" && entry.type === "file" && Buffer.compare(old.data, entry.data) === 0) return;
      throw new PackageError("initramfs.path", `/${name} added twice as ${old.type} and ${entry.type}`);
    }
    this.entries.set(name, { ...entry, path: name });
  }

  /** Adds a directory and its parents (0755). An explicit `mode` also applies to a directory already there. */
  dir(path: string, mode?: number): string {
    const name = this.resolve(`${path}/.x`).slice(0, -3); // follows a symlink in the last component too
    const parent = dirname(`/${name}`);
    if (parent !== "/") this.dir(parent);
    this.put({ type: "dir", path: name, mode: mode ?? 0o755 }, mode !== undefined);
    return name;
  }

  private parentOf(path: string): string {
    const name = this.resolve(path);
    const parent = dirname(`/${name}`);
    if (parent !== "/") this.dir(parent);
    return name;
  }

  file(path: string, data: Uint8Array, mode = 0o644): void {
    this.put({ type: "file", path: this.parentOf(path), mode, data });
  }

  symlink(path: string, target: string): void {
    this.put({ type: "symlink", path: this.parentOf(path), target });
  }

  chardev(path: string, major: number, minor: number, mode: number): void {
    this.put({ type: "chardev", path: this.parentOf(path), mode, major, minor });
  }

  /**
   * Copies host file `hostPath` to the same path in the tree, reproducing every symlink met on the way
   * (e.g. /lib -> usr/lib, /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...), so the loader finds
   * each library under every name the host uses. `sysroot` prefixes host lookups.
   */
  hostPath(hostPath: string, sysroot = "/", depth = 0): void {
    if (depth > 40) throw new PackageError("initramfs.path", `too many symlinks resolving ${hostPath}`);
    const parts = archiveName(hostPath).split("/");
    let cur = "";
    for (let i = 0; i < parts.length; i++) {
      cur = `${cur}/${parts[i]}`;
      const onHost = sysroot === "/" ? cur : posix.join(sysroot, cur);
      const st = lstatSync(onHost);
      const rest = parts.slice(i + 1).join("/");
      if (st.isSymbolicLink()) {
        const target = readlinkSync(onHost);
        this.put({ type: "symlink", path: archiveName(cur), target });
        const resolved = target.startsWith("/") ? target : posix.join(posix.dirname(cur), target);
        this.hostPath(rest ? `${resolved}/${rest}` : resolved, sysroot, depth + 1);
        return;
      }
      if (i < parts.length - 1) {
        if (!st.isDirectory()) throw new PackageError("initramfs.path", `${onHost} is not a directory`);
        this.put({ type: "dir", path: archiveName(cur), mode: 0o755 });
      } else if (st.isFile()) {
        this.put({ type: "file", path: archiveName(cur), mode: normalizedMode(st.mode), data: new Uint8Array(readFileSync(onHost)) });
      } else if (st.isDirectory()) {
        this.put({ type: "dir", path: archiveName(cur), mode: 0o755 });
      } else {
        throw new PackageError("initramfs.path", `${onHost} is neither a file, a directory nor a symlink`);
      }
    }
  }

  list(): CpioEntry[] {
    return [...this.entries.values()];
  }
}
