// Unix socket paths longer than sun_path (107 bytes + NUL): reached through /proc/self/fd/N of their directory, or refused by name.
import { closeSync, constants, openSync } from "node:fs";
import { basename, dirname } from "node:path";
import { SysError } from "../errors.ts";

/** The bytes a Unix socket path may have in a sockaddr_un (sun_path is 108 with its NUL). */
export const SUN_PATH_MAX = 107;

/** O_PATH (Linux x86-64 and arm64, the machines Bun runs on; node:fs does not export it). */
const O_PATH = 0o10000000;

/** The alias prefix of a long path: `/proc/self/fd/N/` (N up to 10 digits). */
const aliasPrefixMax = "/proc/self/fd/2147483647/".length;

/** True when `path` fits sun_path as it is. */
export function fitsSunPath(path: string): boolean {
  return Buffer.byteLength(path) <= SUN_PATH_MAX;
}

/**
 * How to name `path` in an error about its socket: the path itself, plus for a long one how it was
 * reached (so an ENOENT/ENAMETOOLONG says what limit was in play).
 */
export function socketPathDetail(path: string): string {
  if (fitsSunPath(path)) return path;
  const name = Buffer.byteLength(basename(path));
  const how =
    name + aliasPrefixMax > SUN_PATH_MAX
      ? `and its file name (${name} bytes) is too long to be reached through /proc/self/fd/N/ of its directory either; use a shorter run_dir or --socket path`
      : "reached through /proc/self/fd/N/ of its directory (needs /proc)";
  return `${path} (${Buffer.byteLength(path)} bytes, over the ${SUN_PATH_MAX}-byte limit of a Unix socket address, ${how})`;
}

/** An address connect(2)/bind(2) accept for a socket path, and what to close once it has been used. */
export interface UnixAddress {
  address: string;
  release(): void;
}

/**
 * `path` when it fits sun_path; else `/proc/self/fd/N/<name>`, N an O_PATH descriptor of its directory
 * (close-on-exec, no read permission needed), which the kernel resolves to the same file. Call
 * `release()` once the connect or bind is done (again is harmless). Throws SysError naming the path and the limit when the
 * name is too long for even the alias, or when the directory cannot be opened.
 */
export function unixAddress(path: string): UnixAddress {
  if (fitsSunPath(path)) return { address: path, release: () => {} };
  const name = basename(path);
  if (Buffer.byteLength(name) + aliasPrefixMax > SUN_PATH_MAX) throw new SysError("connect", "ENAMETOOLONG", 36, socketPathDetail(path));
  let fd: number;
  try {
    fd = openSync(dirname(path), O_PATH | constants.O_DIRECTORY);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SysError("open", err.code ?? "EIO", Math.abs(err.errno ?? 5), `directory of ${socketPathDetail(path)}`, { cause: e });
  }
  let open = true;
  return {
    address: `/proc/self/fd/${fd}/${name}`,
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
