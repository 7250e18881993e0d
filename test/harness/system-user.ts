// A throwaway system user (and group) for tests that need a non-root peer; a leftover of the same name from a crashed run is removed first.

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  /** Removes the user (and its extra group, if one was made). */
  remove(): void;
}

function sh(argv: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/**
 * Makes system user `name` (no home). The name carries this process's pid, so a run that crashed
 * before its cleanup can leave one behind that a later run with the same pid would trip over:
 * it is deleted first.
 */
export function createSystemUser(name: string): SystemUser {
  sh(["userdel", name]);
  const r = sh(["useradd", "--system", "--no-create-home", name]);
  if (r.code !== 0) throw new Error(`useradd ${name} failed: ${r.err}`);
  const uid = Number(sh(["id", "-u", name]).out.trim());
  const gid = Number(sh(["id", "-g", name]).out.trim());
  if (!(uid > 0) || !(gid > 0)) throw new Error(`${name}: uid ${uid}, gid ${gid}`);
  return { name, uid, gid, remove: () => void sh(["userdel", name]) };
}

/** Makes system group `name` (deleting a leftover first) and returns its gid. */
export function createSystemGroup(name: string): { gid: number; remove(): void } {
  sh(["groupdel", name]);
  const r = sh(["groupadd", "--system", name]);
  if (r.code !== 0) throw new Error(`groupadd ${name} failed: ${r.err}`);
  const gid = Number(sh(["getent", "group", name]).out.split(":")[2]);
  if (!(gid > 0)) throw new Error(`${name}: gid ${gid}`);
  return { gid, remove: () => void sh(["groupdel", name]) };
}
