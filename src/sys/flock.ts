// flock(2): advisory whole-file locks (one writer per state directory).
import { check } from "./lib.ts";
import { bootNative } from "./native-boot.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** Takes an exclusive lock without waiting. Returns false when another open file holds it. */
export function tryLockExclusive(fd: number): boolean {
  const r = bootNative().vb_flock(fd, LOCK_EX | LOCK_NB);
  if (r === -11) return false; // EWOULDBLOCK
  check(r, "flock", `fd ${fd}`);
  return true;
}

export function unlock(fd: number): void {
  check(bootNative().vb_flock(fd, LOCK_UN), "flock(LOCK_UN)", `fd ${fd}`);
}
